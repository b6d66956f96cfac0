// Why this file exists: mediasoup's worker uses ankerl::unordered_dense (a header-only hash
// map library) that Debian does not package, and the offline build cannot download it. The
// worker only uses `map`, `set` and `hash` through their ordinary container interface, so this
// header maps those names onto the standard containers. It is not the real library: no
// `segmented_map`, no `values()`/`extract()` container access, and iteration order is not
// insertion order (mediasoup does not rely on it). Compiler errors after a mediasoup upgrade
// would mean the worker started using more of the library.
#ifndef MEETOPIA_ANKERL_UNORDERED_DENSE_ON_STD_H
#define MEETOPIA_ANKERL_UNORDERED_DENSE_ON_STD_H

#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl::unordered_dense
{
	template<class T>
	using hash = std::hash<T>;

	template<class Key, class T, class Hash = hash<Key>, class KeyEqual = std::equal_to<Key>>
	using map = std::unordered_map<Key, T, Hash, KeyEqual>;

	template<class Key, class Hash = hash<Key>, class KeyEqual = std::equal_to<Key>>
	using set = std::unordered_set<Key, Hash, KeyEqual>;
} // namespace ankerl::unordered_dense

#endif
