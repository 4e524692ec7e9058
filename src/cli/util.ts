/** Commander helper for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, service stop). */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve(signal);
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

/** An AbortController that aborts on SIGINT or SIGTERM. */
export function signalController(): AbortController {
  const controller = new AbortController();
  void waitForSignal().then(() => controller.abort());
  return controller;
}
