//! Reused byte buffers for the backup and restore pipelines.
//!
//! Both pipelines move multi-MiB buffers between threads (chunks, packs, decoded runs). A
//! fresh buffer of that size is a fresh `mmap`: the kernel faults in and zeroes every 4 KiB
//! page on first touch and unmaps it again on free. Measured on a 1 GiB backup, that was
//! 860 000 page faults and a fifth of the CPU time. Buffers handed back here stay mapped and
//! are taken again by the next chunk or pack.
use crate::engine::aligned::AlignedBuf;
use std::sync::{Condvar, Mutex};

/// A bounded stack of cleared buffers. Taking from an empty pool gives a new empty buffer;
/// giving to a full pool frees the buffer, so the pool never holds more than `max` of them.
pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    max: usize,
    max_capacity: usize,
}

impl BufferPool {
    pub fn new(max: usize) -> BufferPool {
        BufferPool {
            free: Mutex::new(Vec::new()),
            max,
            max_capacity: usize::MAX,
        }
    }

    /// A pool that also frees buffers grown past `max_capacity` bytes, so that an occasional
    /// large item (an 8 MiB chunk among 1 MiB ones) does not keep its memory for good.
    pub fn with_max_capacity(max: usize, max_capacity: usize) -> BufferPool {
        BufferPool {
            free: Mutex::new(Vec::new()),
            max,
            max_capacity,
        }
    }

    /// A cleared buffer, reused when one is free.
    pub fn take(&self) -> Vec<u8> {
        self.free.lock().unwrap().pop().unwrap_or_default()
    }

    /// A cleared buffer with room for at least `cap` bytes.
    pub fn take_with(&self, cap: usize) -> Vec<u8> {
        let mut b = self.take();
        b.reserve(cap);
        b
    }

    /// Hand a buffer back for reuse (its contents are dropped).
    pub fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() == 0 || buf.capacity() > self.max_capacity {
            return;
        }
        buf.clear();
        let mut free = self.free.lock().unwrap();
        if free.len() < self.max {
            free.push(buf);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.free.lock().unwrap().len()
    }
}

/// A pool of pack bodies with a budget: at most `limit` are out at once, and
/// [`BoundedPool::take_with`] waits (blocking the thread) for one to come back. This bounds
/// the backup's pack bodies, which would otherwise pile up whenever uploads lag behind the
/// workers.
///
/// Bodies given back have their pages released ([`AlignedBuf::release_pages`]): the pool
/// keeps the allocations but not their memory. Pack bodies are 16 MiB; measured on the tree
/// benchmark, two idle ones were 36 of the backup's 88 MiB peak. A released body faults its
/// pages in again as it is filled, as huge pages, which costs far less than a new
/// allocation's `mmap` and `munmap` (see the module doc).
pub struct BoundedPool {
    free: Mutex<Vec<AlignedBuf>>,
    limit: usize,
    /// Bodies out, and whether the pool is closed.
    state: Mutex<(usize, bool)>,
    returned: Condvar,
}

impl BoundedPool {
    pub fn new(limit: usize) -> BoundedPool {
        BoundedPool {
            free: Mutex::new(Vec::new()),
            limit: limit.max(1),
            state: Mutex::new((0, false)),
            returned: Condvar::new(),
        }
    }

    /// A cleared body with room for `cap` bytes, once fewer than `limit` are out (at once
    /// when the pool is closed).
    pub fn take_with(&self, cap: usize) -> AlignedBuf {
        let mut st = self.state.lock().unwrap();
        while st.0 >= self.limit && !st.1 {
            st = self.returned.wait(st).unwrap();
        }
        st.0 += 1;
        drop(st);
        let mut b = self.free.lock().unwrap().pop().unwrap_or_default();
        b.reserve(cap);
        b.prefer_huge_pages();
        b
    }

    /// One body is back: keep `buf` for reuse when there is one (its holder may have kept
    /// it).
    pub fn give(&self, buf: Option<AlignedBuf>) {
        if let Some(mut b) = buf {
            let mut free = self.free.lock().unwrap();
            if free.len() < self.limit {
                b.release_pages();
                free.push(b);
            }
        }
        let mut st = self.state.lock().unwrap();
        st.0 = st.0.saturating_sub(1);
        self.returned.notify_one();
    }

    /// Nobody will give buffers back any more (the consumer stopped): wake every waiter and
    /// stop waiting from now on.
    pub fn close(&self) {
        self.state.lock().unwrap().1 = true;
        self.returned.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_the_same_allocation_cleared() {
        let p = BufferPool::new(2);
        let mut a = p.take_with(1 << 20);
        a.extend_from_slice(b"old contents");
        let ptr = a.as_ptr();
        p.give(a);
        let b = p.take();
        assert!(b.is_empty(), "a reused buffer comes back cleared");
        assert_eq!(b.as_ptr(), ptr, "the allocation is reused, not a new one");
        assert!(b.capacity() >= 1 << 20);
    }

    #[test]
    fn holds_at_most_max_buffers() {
        let p = BufferPool::new(2);
        for _ in 0..5 {
            p.give(Vec::with_capacity(16));
        }
        assert_eq!(p.len(), 2);
        p.give(Vec::new()); // nothing worth keeping
        assert_eq!(p.len(), 2);
        let _ = (p.take(), p.take());
        assert_eq!(p.len(), 0);
        assert_eq!(
            p.take().capacity(),
            0,
            "an empty pool gives a new empty buffer"
        );
    }

    #[test]
    fn bounded_pool_waits_for_a_buffer_to_come_back() {
        use std::sync::Arc;
        let p = Arc::new(BoundedPool::new(2));
        let a = p.take_with(64);
        let _b = p.take_with(64);
        let ptr = a.as_ptr();
        let (tx, rx) = std::sync::mpsc::channel();
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || {
            let c = p2.take_with(64);
            tx.send(c.as_ptr() as usize).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "a third buffer must wait"
        );
        p.give(Some(a));
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("woken by give");
        assert_eq!(
            got, ptr as usize,
            "the returned buffer is the one handed out next"
        );
        waiter.join().unwrap();
    }

    #[test]
    fn closed_bounded_pool_stops_waiting() {
        use std::sync::Arc;
        let p = Arc::new(BoundedPool::new(1));
        let _a = p.take_with(8);
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || p2.take_with(8).capacity());
        std::thread::sleep(std::time::Duration::from_millis(50));
        p.close();
        assert!(waiter.join().unwrap() >= 8);
        let _ = p.take_with(8); // and no waiting afterwards either
    }

    #[test]
    fn frees_buffers_grown_past_the_capacity_limit() {
        let p = BufferPool::with_max_capacity(4, 1024);
        p.give(Vec::with_capacity(4096));
        assert_eq!(p.len(), 0);
        p.give(Vec::with_capacity(1024));
        assert_eq!(p.len(), 1);
    }
}
