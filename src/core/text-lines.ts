/**
 * Lines of a large text by offset, without splitting it (issue 16: a 1,000-context kubeconfig
 * is ~24,000 lines). Shared by the kubeconfig layout scan and the catalog entry cut.
 */

/** The offset past the newline of the line holding `at` (the text's length on its last line). */
export function lineEnd(text: string, at: number): number {
  const newline = text.indexOf('\n', at);
  return newline < 0 ? text.length : newline + 1;
}

/** The first offset of the line holding `at`. */
export function lineStart(text: string, at: number): number {
  return at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
}

/** The line starting at `start`, without its newline. */
export function lineAt(text: string, start: number): string {
  const end = lineEnd(text, start);
  return text.slice(start, text.charCodeAt(end - 1) === 10 ? end - 1 : end);
}

/** A line that is blank (any whitespace) or a comment. */
export const BLANK_OR_COMMENT = /^\s*(#.*)?$/;
