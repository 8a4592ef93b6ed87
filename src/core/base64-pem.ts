/** The catalog's `*-certificate-authority-data` (base64 of a PEM) as PEM text; undefined when absent. */
export function decodeBase64Pem(data: string | undefined): string | undefined {
  if (!data) return undefined;
  return Buffer.from(data, 'base64').toString('utf8');
}
