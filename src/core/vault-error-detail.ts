/**
 * The first error in a Vault (or OpenBao) error body `{"errors": [...]}`, on one line. Vault
 * wraps some errors in go-multierror's text, e.g. an ACL denial of a valid token:
 * "1 error occurred:\n\t* permission denied\n\n"; the reason is then the first "* " item.
 */
export function vaultErrorDetail(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  const first = errors[0];
  if (typeof first !== 'string') return undefined;
  const text = first.trim();
  if (text === '') return undefined;
  const lines = text.split('\n');
  if (/^\d+ errors? occurred:$/.test(lines[0]?.trim() ?? '')) {
    const item = lines.slice(1).map((l) => l.trim()).find((l) => l.startsWith('* '));
    if (item !== undefined && item.length > 2) return item.slice(2).trim();
  }
  return lines[0]?.trim();
}
