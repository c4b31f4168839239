/** A frame header declared a section longer than the configured limit; framing cannot continue. */
export class FrameTooLargeError extends Error {
  constructor(
    readonly section: 'json' | 'binary',
    readonly declared: number,
    readonly limit: number,
  ) {
    super(`The ${section} section of ${declared} bytes exceeds the limit of ${limit} bytes.`);
    this.name = 'FrameTooLargeError';
  }
}
