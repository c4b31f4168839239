/** The JSON section of an otherwise well-framed message is not a JSON object; the stream stays usable. */
export class InvalidJsonError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidJsonError';
  }
}
