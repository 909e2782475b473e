/** Masking of credentials in text that is about to be shown (URLs with passwords or tokens). */

/** Hides passwords in URLs and values of secret-looking query parameters. */
export function maskSecrets(text: string): string {
  return text
    .replace(/(\/\/[^:/@\s]*:)[^@/\s]*@/g, '$1***@')
    .replace(/([?&](?:password|passwd|pwd|token|secret|api_?key|access_key|sslpassword)=)[^&\s]*/gi, '$1***');
}
