/**
 * Characters that must not reach a terminal as they are: C0 and C1 controls
 * and DEL (escape sequences, carriage returns and newlines that forge or
 * overwrite lines), the Unicode line and paragraph separators, and the bidi
 * controls that make a line read differently from what it holds.
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const asEscape = (char: string): string => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;

/**
 * `text` with every character a terminal would act on, rather than show,
 * written as a `\uXXXX` escape, so that text from an event or an error takes
 * exactly one line and shows what it holds.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, asEscape);
}
