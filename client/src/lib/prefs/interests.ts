import { MAX_INTERESTS, normaliseInterest } from '@meetopia/protocol';

/** What adding typed text to the interest chips did. */
export type AddInterestsResult = {
  /** The chips after adding (normalised, de-duplicated, at most MAX_INTERESTS). */
  interests: string[];
  /** Parts that are not usable interests (bad characters, too long), as typed. */
  rejected: string[];
  /** True when some parts were left out because the list is full. */
  full: boolean;
};

/**
 * Adds the interests in `raw` (one, or several separated by commas) to `current`, normalised the
 * way the server does it, so the chips show exactly what matching will use.
 */
export function addInterests(current: readonly string[], raw: string): AddInterestsResult {
  const interests = [...current];
  const rejected: string[] = [];
  let full = false;
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const value = normaliseInterest(part);
    if (value === null) {
      rejected.push(part.trim());
      continue;
    }
    if (interests.includes(value)) continue;
    if (interests.length >= MAX_INTERESTS) {
      full = true;
      continue;
    }
    interests.push(value);
  }
  return { interests, rejected, full };
}

/** The chips without `interest`. */
export function removeInterest(current: readonly string[], interest: string): string[] {
  return current.filter((item) => item !== interest);
}

/**
 * Splits what is being typed at a comma: the finished parts become chips, the text after the
 * last comma stays in the field.
 */
export function splitDraft(draft: string): { complete: string | null; rest: string } {
  const last = draft.lastIndexOf(',');
  if (last === -1) return { complete: null, rest: draft };
  return { complete: draft.slice(0, last), rest: draft.slice(last + 1) };
}
