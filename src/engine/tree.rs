//! Trees: JSON lists of nodes, restic's directory listings.
//!
//! A tree blob is `{"nodes":[…]}` followed by a newline; its id is the SHA-256 of those bytes.
//! Modes are Go's `os.FileMode` (type bits high, permission bits low), because that is what
//! restic writes and reads. Fields we do not know (newer restic versions add some) are kept,
//! so a tree we load and save again loses nothing.
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::id::Id;

/// Go `os.FileMode` bits.
pub mod gomode {
    pub const DIR: u32 = 1 << 31;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const NAMED_PIPE: u32 = 1 << 25;
    pub const SOCKET: u32 = 1 << 24;
    pub const SETUID: u32 = 1 << 23;
    pub const SETGID: u32 = 1 << 22;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const STICKY: u32 = 1 << 20;
    pub const PERM: u32 = 0o777;

    /// Convert a Unix `st_mode` to Go's FileMode.
    pub fn from_unix(m: u32) -> u32 {
        let mut g = m & PERM;
        match m & libc::S_IFMT {
            libc::S_IFDIR => g |= DIR,
            libc::S_IFLNK => g |= SYMLINK,
            libc::S_IFBLK => g |= DEVICE,
            libc::S_IFCHR => g |= DEVICE | CHAR_DEVICE,
            libc::S_IFIFO => g |= NAMED_PIPE,
            libc::S_IFSOCK => g |= SOCKET,
            _ => {}
        }
        if m & libc::S_ISUID != 0 {
            g |= SETUID;
        }
        if m & libc::S_ISGID != 0 {
            g |= SETGID;
        }
        if m & libc::S_ISVTX != 0 {
            g |= STICKY;
        }
        g
    }

    /// Permission and special bits of a Go FileMode as a Unix mode for chmod.
    pub fn to_unix_perm(g: u32) -> u32 {
        let mut m = g & PERM;
        if g & SETUID != 0 {
            m |= libc::S_ISUID;
        }
        if g & SETGID != 0 {
            m |= libc::S_ISGID;
        }
        if g & STICKY != 0 {
            m |= libc::S_ISVTX;
        }
        m
    }
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    #[serde(rename = "type")]
    pub node_type: String,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
    #[serde(with = "super::gotime", default = "super::gotime::zero")]
    pub mtime: DateTime<FixedOffset>,
    #[serde(with = "super::gotime", default = "super::gotime::zero")]
    pub atime: DateTime<FixedOffset>,
    #[serde(with = "super::gotime", default = "super::gotime::zero")]
    pub ctime: DateTime<FixedOffset>,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub inode: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub device_id: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub size: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub links: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub linktarget: String,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub device: u64,
    /// Always written (as `null` for non-files), as restic does.
    #[serde(default)]
    pub content: Option<Vec<Id>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<Id>,
    /// Fields of newer restic versions, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Node {
    pub fn is_dir(&self) -> bool {
        self.node_type == "dir"
    }
    pub fn is_file(&self) -> bool {
        self.node_type == "file"
    }
    pub fn is_symlink(&self) -> bool {
        self.node_type == "symlink"
    }

    /// A node with the given name and type and everything else empty, timestamps `now`.
    pub fn new(name: &str, node_type: &str, now: DateTime<FixedOffset>) -> Node {
        Node {
            name: name.to_string(),
            node_type: node_type.to_string(),
            mode: 0,
            mtime: now,
            atime: now,
            ctime: now,
            uid: 0,
            gid: 0,
            user: String::new(),
            group: String::new(),
            inode: 0,
            device_id: 0,
            size: 0,
            links: 0,
            linktarget: String::new(),
            device: 0,
            content: None,
            subtree: None,
            extra: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Serialise as restic does: nodes sorted by name, JSON plus a trailing newline.
    pub fn to_blob(&mut self) -> Vec<u8> {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let mut v = serde_json::to_vec(self).expect("tree serialisation cannot fail");
        v.push(b'\n');
        v
    }

    pub fn from_blob(b: &[u8]) -> Result<Tree, serde_json::Error> {
        serde_json::from_slice(b)
    }

    pub fn find(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rustic writes a stdin file's node without times; restic (Go) reads them as zero.
    #[test]
    fn a_node_without_times_reads_as_go_zero_time() {
        use crate::engine::gotime;
        let json = r#"{"nodes":[{"name":"dump.sql","type":"file","mode":384,"content":[]}]}"#;
        let tree: Tree = serde_json::from_str(json).unwrap();
        let n = &tree.nodes[0];
        assert_eq!(
            (n.mtime, n.atime, n.ctime),
            (gotime::zero(), gotime::zero(), gotime::zero())
        );
        assert_eq!(gotime::format(&n.mtime), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn node_json_like_restic() {
        let t: DateTime<FixedOffset> = "2014-12-06T17:50:23.34513538+01:00".parse().unwrap();
        let mut n = Node::new("f", "file", t);
        n.mode = 0o644;
        n.content = Some(vec![Id::hash(b"x")]);
        let mut d = Node::new("d", "dir", t);
        d.mode = gomode::DIR | 0o755;
        d.subtree = Some(Id::hash(b"y"));
        let mut tree = Tree { nodes: vec![n, d] };
        let s = String::from_utf8(tree.to_blob()).unwrap();
        assert!(s.ends_with("}]}\n"));
        assert!(
            s.starts_with(r#"{"nodes":[{"name":"d","type":"dir","mode":2147484141"#),
            "{s}"
        );
        assert!(s.contains(r#""content":null"#));
        let back = Tree::from_blob(s.as_bytes()).unwrap();
        assert_eq!(back, tree);
    }

    #[test]
    fn unknown_fields_survive() {
        let j = r#"{"nodes":[{"name":"a","type":"file","mtime":"2020-01-01T00:00:00Z","atime":"2020-01-01T00:00:00Z","ctime":"2020-01-01T00:00:00Z","uid":0,"gid":0,"content":[],"generic_attributes":{"x":1}}]}"#;
        let t = Tree::from_blob(j.as_bytes()).unwrap();
        let out = serde_json::to_string(&t).unwrap();
        assert!(out.contains(r#""generic_attributes":{"x":1}"#), "{out}");
    }

    #[test]
    fn go_modes() {
        assert_eq!(
            gomode::from_unix(libc::S_IFDIR | 0o755),
            gomode::DIR | 0o755
        );
        assert_eq!(
            gomode::from_unix(libc::S_IFLNK | 0o777),
            gomode::SYMLINK | 0o777
        );
        assert_eq!(
            gomode::from_unix(libc::S_IFREG | 0o4755),
            gomode::SETUID | 0o755
        );
        assert_eq!(gomode::to_unix_perm(gomode::SETUID | 0o755), 0o4755);
    }
}
