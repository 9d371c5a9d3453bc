//! Hash maps with a fast hasher (foldhash, seeded per process) for the hot lookups of a run:
//! document paths, Python names, call references. The standard library's SipHash and its
//! one-`write`-per-path-component hashing were several percent of a whole `check`.

pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
