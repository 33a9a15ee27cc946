//! Facts about the running process that restic records: host name, user name, uid/gid,
//! and the names behind uids and gids (cached, since a tree walk asks for them per file);
//! reading files and folders without moving their access times; and reading a range of a
//! file into a reused buffer without zero-filling it first.
use std::collections::HashMap;
use std::ffi::{CStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::Mutex;

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

pub fn gid() -> u32 {
    // SAFETY: getgid cannot fail.
    unsafe { libc::getgid() }
}

pub fn pid() -> u32 {
    std::process::id()
}

pub fn username() -> String {
    user_name(uid())
}

static USERS: Mutex<Option<HashMap<u32, String>>> = Mutex::new(None);
static GROUPS: Mutex<Option<HashMap<u32, String>>> = Mutex::new(None);

/// The login name of `uid`, or "" when it has none.
pub fn user_name(uid: u32) -> String {
    let mut cache = USERS.lock().unwrap();
    cache
        .get_or_insert_with(HashMap::new)
        .entry(uid)
        .or_insert_with(|| lookup_user(uid))
        .clone()
}

/// The name of group `gid`, or "" when it has none.
pub fn group_name(gid: u32) -> String {
    let mut cache = GROUPS.lock().unwrap();
    cache
        .get_or_insert_with(HashMap::new)
        .entry(gid)
        .or_insert_with(|| lookup_group(gid))
        .clone()
}

fn lookup_user(uid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; getpwuid_r writes only into pwd and buf.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return String::new();
    }
    // SAFETY: on success pw_name points into buf, NUL-terminated.
    unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned()
}

fn lookup_group(gid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as above, for getgrgid_r.
    let rc = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return String::new();
    }
    // SAFETY: on success gr_name points into buf, NUL-terminated.
    unsafe { CStr::from_ptr(grp.gr_name) }
        .to_string_lossy()
        .into_owned()
}

/// Whether a process with `pid` exists on this host (signal 0 probe, as restic does).
pub fn process_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Flush everything written to the filesystem that holds the open folder `dir` (Linux
/// `syncfs`, which reports writeback errors since `dir` was opened; elsewhere `sync`, all
/// filesystems).
pub fn sync_filesystem(dir: &File) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: dir's descriptor is open for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        // SAFETY: sync takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }
    Ok(())
}

/// `O_NOATIME` where the platform has it.
#[cfg(target_os = "linux")]
const NOATIME: libc::c_int = libc::O_NOATIME;
#[cfg(not(target_os = "linux"))]
const NOATIME: libc::c_int = 0;

/// Open `path` for reading with `flags` plus `O_NOATIME`, or without it where the kernel
/// refuses (it allows it only to the file's owner and to root).
fn open_flags(path: &Path, flags: libc::c_int) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = |f| OpenOptions::new().read(true).custom_flags(f).open(path);
    match open(flags | NOATIME) {
        Err(e) if NOATIME != 0 && e.raw_os_error() == Some(libc::EPERM) => open(flags),
        r => r,
    }
}

/// Open a file for a backup to read without updating its access time, as restic does:
/// trees record atimes, so a backup that moved them would find every file it read changed
/// next time, and every tree with it.
pub fn open_noatime(path: &Path) -> io::Result<File> {
    open_flags(path, 0)
}

/// The names in a folder, except `.` and `..`, read without updating its access time (see
/// [`open_noatime`]; `std::fs::read_dir` cannot be given the flag).
#[cfg(target_os = "linux")]
pub fn read_dir_names(path: &Path) -> io::Result<Vec<OsString>> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::IntoRawFd;
    let fd = open_flags(path, libc::O_DIRECTORY)?.into_raw_fd();
    // SAFETY: fd is an open folder descriptor we own; on success the DIR takes it over and
    // closedir closes it.
    let dir = unsafe { libc::fdopendir(fd) };
    if dir.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so fd is still ours to close.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    let mut names = Vec::new();
    let result = loop {
        // readdir returns NULL both at the end and on error; only errno tells them apart.
        // SAFETY: __errno_location points at this thread's errno.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: dir is a valid DIR until closedir below.
        let ent = unsafe { libc::readdir(dir) };
        if ent.is_null() {
            let e = io::Error::last_os_error();
            break match e.raw_os_error() {
                Some(0) | None => Ok(()),
                Some(_) => Err(e),
            };
        }
        // SAFETY: d_name of the entry readdir returned is NUL-terminated and valid until the
        // next readdir call; it is copied before that.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(std::ffi::OsStr::from_bytes(name).to_os_string());
        }
    };
    // SAFETY: dir is valid and closed exactly once.
    unsafe { libc::closedir(dir) };
    result.map(|()| names)
}

/// The names in a folder, except `.` and `..`.
#[cfg(not(target_os = "linux"))]
pub fn read_dir_names(path: &Path) -> io::Result<Vec<OsString>> {
    std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

/// Read `len` bytes of `file` at `offset` into `buf` (cleared first), straight into its
/// spare capacity: `read_exact_at` would want the bytes zeroed first, one memset of every
/// pack-sized read. A file that ends early is an `UnexpectedEof` naming the shortfall.
pub fn read_exact_at_into(
    file: &File,
    offset: u64,
    len: usize,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    buf.clear();
    buf.reserve(len);
    let mut done = 0usize;
    while done < len {
        let spare = buf.spare_capacity_mut();
        let at = offset + done as u64;
        // SAFETY: spare[..len - done] is writable memory owned by buf (reserved above);
        // pread writes at most that many bytes into it and touches nothing else.
        let n = unsafe {
            libc::pread(
                file.as_raw_fd(),
                spare.as_mut_ptr() as *mut libc::c_void,
                len - done,
                at as libc::off_t,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file ends {done} bytes after offset {offset}, {len} were wanted"),
            ));
        }
        done += n as usize;
        // SAFETY: pread initialised the n bytes after the old length.
        unsafe { buf.set_len(done) };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_an_offset_into_a_used_buffer_and_reports_a_short_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let f = File::open(&p).unwrap();
        let mut buf = b"left over from before".to_vec();
        read_exact_at_into(&f, 1234, 5000, &mut buf).unwrap();
        assert_eq!(buf, &data[1234..6234]);
        read_exact_at_into(&f, 0, 0, &mut buf).unwrap();
        assert!(buf.is_empty());
        let e = read_exact_at_into(&f, 9000, 2000, &mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(
            e.to_string().contains("ends 1000 bytes after offset 9000"),
            "{e}"
        );
    }

    #[test]
    fn reading_moves_no_access_time() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        std::fs::write(&f, b"data").unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        // An atime before the mtime is what relatime moves on the next read.
        let old = filetime::FileTime::from_unix_time(1_000_000_000, 0);
        filetime::set_file_atime(&f, old).unwrap();
        filetime::set_file_atime(tmp.path(), old).unwrap();

        let mut data = Vec::new();
        io::Read::read_to_end(&mut open_noatime(&f).unwrap(), &mut data).unwrap();
        assert_eq!(data, b"data");
        let mut names = read_dir_names(tmp.path()).unwrap();
        names.sort();
        assert_eq!(names, vec![OsString::from("f"), OsString::from("sub")]);
        if cfg!(target_os = "linux") {
            assert_eq!(std::fs::metadata(&f).unwrap().atime(), 1_000_000_000);
            assert_eq!(
                std::fs::metadata(tmp.path()).unwrap().atime(),
                1_000_000_000
            );
        }
        assert!(read_dir_names(&f).is_err(), "a file is not a folder");
    }
}
