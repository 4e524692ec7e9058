/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => (stream.writableLength === 0 ? resolve() : stream.write("", () => resolve())));
}

/**
 * Runs a command-line entry and exits with its status. Long-running commands resolve only after
 * their own shutdown; exit then, so no stray handle (a keep-alive timer, a pooled connection)
 * keeps the process alive. Output to a pipe is written asynchronously: exiting before it drained
 * would cut a long --json short.
 */
export function runEntry(main: (argv: string[]) => Promise<number>): void {
  void main(process.argv).then(async (code) => {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  });
}
