/** A failure the CLI reports as one line and a non-zero exit status. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}
