/**
 * The most calls one tRPC batch may carry: the server refuses a bigger batch (BAD_REQUEST), and
 * the SDK's and the browser's batch links split theirs at it. One number for both sides.
 */
export const MAX_BATCH_CALLS = 20;
