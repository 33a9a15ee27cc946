//! Facts about the running process that restic records: host name, user name, uid/gid,
//! and the names behind uids and gids (cached, since a tree walk asks for them per file).
use std::collections::HashMap;
use std::ffi::CStr;
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
