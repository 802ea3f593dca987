// Preloaded (--import) into the processes start-all runs. They lead process groups of their own,
// so nothing reaches them when start-all dies without stopping them (SIGKILL, a crash): then its
// IPC channel closes, and the process stops as it would on SIGTERM, gracefully.
process.channel?.unref();
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
