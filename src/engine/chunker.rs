//! TEMPORARY placeholder until the restic-compatible chunker lands (same API).
pub const MIN_SIZE: usize = 512 * 1024;
pub const MAX_SIZE: usize = 8 * 1024 * 1024;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pol(pub u64);
impl Pol {
    pub fn random() -> Pol { Pol(0x3DA3358B4DC173) }
    pub fn to_hex(self) -> String { format!("{:x}", self.0) }
    pub fn from_hex(s: &str) -> Result<Pol, std::num::ParseIntError> { u64::from_str_radix(s, 16).map(Pol) }
}
pub struct Chunker { n: usize }
impl Chunker {
    pub fn new(_pol: Pol) -> Chunker { Chunker { n: 0 } }
    pub fn next_boundary(&mut self, buf: &[u8]) -> Option<usize> {
        let want = 1 << 20;
        if self.n + buf.len() >= want { let k = want - self.n; self.n = 0; Some(k) } else { self.n += buf.len(); None }
    }
    pub fn reset(&mut self) { self.n = 0; }
}
