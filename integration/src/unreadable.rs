//! Entries a backup cannot read. The tests run as root here, and root reads a file of mode
//! 000 anyway (CAP_DAC_OVERRIDE), so the program under test is started without the
//! capabilities that bypass file permissions.
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// Take every permission off `path` (a file, or a folder that can then not be listed).
pub fn make_unreadable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
}

/// Give the permissions back, so the test's temporary folder can be removed.
pub fn make_readable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `program` as a command that file permissions apply to, even when the tests run as root.
pub fn command_bound_by_permissions(program: &Path) -> Command {
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        return Command::new(program);
    }
    let mut c = Command::new("setpriv");
    c.arg("--bounding-set=-dac_override,-dac_read_search")
        .arg(program);
    c
}
