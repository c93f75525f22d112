// Loaded into scenario 6's server (with --expose-gc): SIGUSR2 collects garbage, so RSS samples
// count what subscribers hold, not garbage left from opening them.
process.on("SIGUSR2", () => globalThis.gc());
