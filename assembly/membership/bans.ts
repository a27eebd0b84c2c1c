// Members removed from the switch (IN_BAN, `divs remove`): dead here for good. Their ALIVEs are
// refused before any signature check and their MAC claims dropped, so copies still gossiped by members
// that have not heard of the removal cannot bring them back. The host bounds the list (it persists it).
const banned = new Set<u64>();

export function banAdd(id: u64): bool {
  if (banned.has(id)) return false;
  banned.add(id);
  return true;
}

export function isBanned(id: u64): bool {
  return banned.size > 0 && banned.has(id);
}
