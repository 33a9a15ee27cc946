//! Pack bodies: byte buffers whose allocation starts and ends on a 2 MiB boundary.
//!
//! A backup holds a few 16 MiB pack bodies at a time and writes each to the backend when it
//! is full. A `Vec<u8>` of that size starts 16 bytes past a page boundary (the allocator's
//! header), which rules out two things this alignment allows:
//! - the whole allocation can be backed by transparent huge pages, so filling a body costs
//!   8 page faults instead of 4096 (first touches of memory are dear on VMs), and an idle
//!   body gives its pages back whole;
//! - a local backend can write the body with `O_DIRECT`, straight from this memory to the
//!   disk, instead of copying it into the page cache first (see
//!   `storage::direct`). Packs are synced anyway, so the page-cache copy bought nothing but
//!   evicting what the machine's databases had cached.
//!
//! Bytes past `len` are never exposed: they may be uninitialised.
use std::alloc::{self, Layout};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;

use bytes::Bytes;

/// Alignment and granularity of every allocation: one huge page (and a multiple of any
/// disk's block size, for `O_DIRECT`).
pub const ALIGN: usize = 2 << 20;

/// A growable byte buffer on a 2 MiB-aligned allocation; see the module docs.
pub struct AlignedBuf {
    /// Dangling (and `cap` zero) until the first allocation.
    ptr: NonNull<u8>,
    len: usize,
    cap: usize,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads through &[u8].
unsafe impl Sync for AlignedBuf {}

impl Default for AlignedBuf {
    fn default() -> Self {
        AlignedBuf {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
        }
    }
}

impl AlignedBuf {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Make room for `more` bytes past `len`.
    pub fn reserve(&mut self, more: usize) {
        let need = self.len.checked_add(more).expect("buffer size overflows");
        if need <= self.cap {
            return;
        }
        let new_cap = need.max(self.cap * 2).div_ceil(ALIGN) * ALIGN;
        let new_layout = Layout::from_size_align(new_cap, ALIGN).expect("buffer size overflows");
        let p = if self.cap == 0 {
            // SAFETY: new_layout has a non-zero size.
            unsafe { alloc::alloc(new_layout) }
        } else {
            // SAFETY: ptr was allocated with this alignment and size cap, and new_cap is a
            // non-zero multiple of ALIGN that fits isize (from_size_align checked it).
            unsafe { alloc::realloc(self.ptr.as_ptr(), self.layout(), new_cap) }
        };
        self.ptr = NonNull::new(p).unwrap_or_else(|| alloc::handle_alloc_error(new_layout));
        self.cap = new_cap;
    }

    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.reserve(data.len());
        // SAFETY: reserve made room for data.len() bytes past len inside the allocation,
        // and data cannot overlap memory this buffer exclusively owns past len.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.ptr.as_ptr().add(self.len),
                data.len(),
            );
        }
        self.len += data.len();
    }

    /// Ask for transparent huge pages for the whole allocation (where the kernel grants
    /// them on request, its default). A hint: nothing changes where they are off.
    pub fn prefer_huge_pages(&mut self) {
        #[cfg(target_os = "linux")]
        self.advise(libc::MADV_HUGEPAGE);
    }

    /// Clear the buffer and give its pages back to the kernel, keeping the allocation: an
    /// idle pooled body then costs no resident memory, and refilling it faults in fresh
    /// zeroed pages, far cheaper than the `mmap`/`munmap` of a new allocation.
    pub fn release_pages(&mut self) {
        self.len = 0;
        #[cfg(target_os = "linux")]
        self.advise(libc::MADV_DONTNEED);
    }

    #[cfg(target_os = "linux")]
    fn advise(&mut self, advice: libc::c_int) {
        if self.cap > 0 {
            // SAFETY: the allocation is exactly [ptr, ptr + cap), page-aligned, and the
            // callers' advice (huge pages; dropping contents of a cleared buffer) changes
            // no byte the buffer still holds.
            unsafe {
                libc::madvise(self.ptr.as_ptr() as *mut libc::c_void, self.cap, advice);
            }
        }
    }

    /// Share the contents as [`Bytes`] (no copy) for a backend to write. Once every clone
    /// of the `Bytes` is dropped, [`Shared::reclaim`] hands the buffer back for reuse.
    pub fn share(self) -> (Bytes, Shared) {
        let arc = Arc::new(self);
        (Bytes::from_owner(Shared(arc.clone())), Shared(arc))
    }

    fn layout(&self) -> Layout {
        // SAFETY: cap is a non-zero multiple of ALIGN that from_size_align accepted when
        // the allocation was made.
        unsafe { Layout::from_size_align_unchecked(self.cap, ALIGN) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.cap > 0 {
            // SAFETY: ptr was allocated with exactly this layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout()) }
        }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the first len bytes are initialised (extend_from_slice wrote them); a
        // dangling pointer with len 0 is a valid empty slice.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("cap", &self.cap)
            .finish()
    }
}

/// A buffer lent out as [`Bytes`] by [`AlignedBuf::share`].
pub struct Shared(Arc<AlignedBuf>);

impl Shared {
    /// The buffer, cleared, when nothing else holds it any more.
    pub fn reclaim(self) -> Option<AlignedBuf> {
        Arc::try_unwrap(self.0).ok().map(|mut b| {
            b.clear();
            b
        })
    }
}

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_keeping_its_contents_and_alignment() {
        let mut b = AlignedBuf::default();
        assert!(b.is_empty() && b.capacity() == 0);
        assert_eq!(&b[..], b"");
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
        for piece in data.chunks(777_777) {
            b.extend_from_slice(piece);
            assert_eq!(b.as_ptr() as usize % ALIGN, 0);
            assert_eq!(b.capacity() % ALIGN, 0);
        }
        assert_eq!(&b[..], &data[..]);
        b.clear();
        b.extend_from_slice(b"again");
        assert_eq!(&b[..], b"again");
    }

    #[test]
    fn shared_bytes_give_the_buffer_back_once_dropped() {
        let mut b = AlignedBuf::default();
        b.reserve(10);
        b.extend_from_slice(b"pack body");
        let ptr = b.as_ptr();
        let (bytes, lent) = b.share();
        assert_eq!(&bytes[..], b"pack body");
        assert_eq!(bytes.as_ptr(), ptr, "no copy");
        drop(bytes);
        let back = lent.reclaim().expect("nothing holds it");
        assert!(back.is_empty() && back.capacity() == ALIGN);
        assert_eq!(back.as_ptr(), ptr);

        let mut back = back;
        back.extend_from_slice(b"pack body");
        let (bytes, lent) = back.share();
        let held = bytes.slice(1..4);
        drop(bytes);
        assert!(lent.reclaim().is_none(), "a slice still holds it");
        assert_eq!(&held[..], b"ack");
    }

    /// How many of the pages of `[start, start + len)` are resident.
    #[cfg(target_os = "linux")]
    fn resident_pages(start: *const u8, len: usize) -> usize {
        let mut vec = vec![0u8; len / 4096];
        // SAFETY: the range is a page-aligned live allocation; vec has one byte per page.
        let rc = unsafe {
            libc::mincore(
                start as *mut libc::c_void,
                len,
                vec.as_mut_ptr() as *mut libc::c_uchar,
            )
        };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        vec.iter().filter(|&&b| b & 1 == 1).count()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn released_buffer_keeps_its_allocation_but_not_its_pages() {
        let mut b = AlignedBuf::default();
        b.reserve(8 << 20);
        b.prefer_huge_pages();
        b.extend_from_slice(&vec![7u8; 8 << 20]);
        let (ptr, cap) = (b.as_ptr(), b.capacity());
        assert!(
            resident_pages(ptr, cap) > 1000,
            "written pages are resident"
        );
        b.release_pages();
        assert!(b.is_empty());
        assert_eq!(
            (b.as_ptr(), b.capacity()),
            (ptr, cap),
            "the allocation is kept"
        );
        assert_eq!(resident_pages(ptr, cap), 0);
        b.extend_from_slice(&[1]);
        assert_eq!(&b[..], &[1]);
    }
}
