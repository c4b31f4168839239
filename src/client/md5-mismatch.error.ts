/** The local MD5 differs from the server's: the download is discarded. */
export class Md5MismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`md5 mismatch: server ${expected}, local ${actual}`);
    this.name = 'Md5MismatchError';
  }
}
