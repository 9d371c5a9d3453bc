//! Hash maps with a fast hasher (foldhash, seeded per process) for the hot lookups of a run:
//! document paths, Python names, call references. The standard library's SipHash and its
//! one-`write`-per-path-component hashing were several percent of a whole `check`.

pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use std::path::{Path, PathBuf};

/// A path as a hash-map key, hashed and compared by its bytes. `Path`'s own `Hash` walks the
/// path component by component (several hundred instructions for a typical absolute path, a
/// few percent of a `check` across the lookups of every rule). Byte equality is stricter than
/// `Path` equality (`a//b` and `a/b` differ): every stored and looked-up path is normalised by
/// `discover` first, so the two agree on bricklint's paths.
#[derive(Clone, Debug)]
pub struct PathKey(pub PathBuf);

impl PathKey {
    pub fn bytes(&self) -> &[u8] {
        key(&self.0)
    }
}

/// The lookup form of a path in a [`PathMap`] / [`PathSet`]: `map.get(key(path))`.
pub fn key(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

impl PartialEq for PathKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for PathKey {}

impl std::hash::Hash for PathKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes().hash(state)
    }
}

impl std::borrow::Borrow<[u8]> for PathKey {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

impl From<PathBuf> for PathKey {
    fn from(p: PathBuf) -> Self {
        PathKey(p)
    }
}

/// A map keyed by paths (see [`PathKey`]).
pub type PathMap<V> = HashMap<PathKey, V>;
/// A set of paths (see [`PathKey`]).
pub type PathSet = HashSet<PathKey>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keys_hash_and_compare_as_bytes() {
        let mut m: PathMap<u32> = PathMap::default();
        m.insert(PathBuf::from("/repo/nb/a.py").into(), 1);
        m.insert(PathBuf::from("/repo/nb/b.py").into(), 2);
        assert_eq!(m.get(key(Path::new("/repo/nb/a.py"))), Some(&1));
        assert_eq!(m.get(key(Path::new("/repo/nb/b.py"))), Some(&2));
        assert_eq!(m.get(key(Path::new("/repo/nb/c.py"))), None);
        // Byte equality: a path spelled differently is a different key.
        assert_eq!(m.get(key(Path::new("/repo//nb/a.py"))), None);
        assert_ne!(
            PathKey(PathBuf::from("/a/b")),
            PathKey(PathBuf::from("/a/b/"))
        );
    }
}
