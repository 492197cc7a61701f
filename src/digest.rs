//! Sha256 in lowercase hex: what the lock file records of each file, and what the model
//! names and checksums with (Job names, pod-template checksums). Below every stage.

use sha2::{Digest, Sha256};

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        hex.push(DIGITS[usize::from(b >> 4)] as char);
        hex.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    hex
}

/// A sha256 that serializers write into: what they write is hashed, never kept.
pub struct Hashing(pub Sha256);

impl Hashing {
    /// A new hash.
    pub fn new() -> Self {
        Hashing(Sha256::new())
    }

    /// The digest of everything written.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl Default for Hashing {
    fn default() -> Self {
        Hashing::new()
    }
}

impl std::io::Write for Hashing {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
