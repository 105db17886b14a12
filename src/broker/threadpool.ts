/**
 * Sizes libuv's thread pool before anything uses it. Import this first in a process entry point.
 *
 * node-rdkafka runs each consume() call on that pool, and every consume loop of the connector (the
 * backbone consumer, the request ledger, the trail, the agency directory, the VXP mailbox's two
 * topics, one more per getEdoc in flight) keeps a call waiting there almost all the time. With
 * Node's default of 4 threads those loops hold the whole pool, and each file write of a large
 * upload waited for one of them to return: the real VXP SDK's 200 MB sendEdoc crept in at 0.5 MB/s.
 * An operator's own UV_THREADPOOL_SIZE is kept.
 */
export const DEFAULT_THREADPOOL_SIZE = 32;

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(DEFAULT_THREADPOOL_SIZE);
