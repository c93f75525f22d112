/**
 * The most calls one tRPC batch may carry: the server refuses a bigger batch (BAD_REQUEST), and
 * the SDK's and the browser's batch links split theirs at it. One number for both sides.
 */
export const MAX_BATCH_CALLS = 20;

/*
 * The document limits: with the route table's cap on a call's body (server/http/routes.ts), the
 * only byte caps Parley defines.
 */

/** The largest document Parley indexes: 5 MiB of source (UTF-8 bytes for text); the browser checks it before sending. */
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
/**
 * The largest request body that carries a document (from a known caller): its 5 MB as JSON-escaped
 * text (`knowledge.documents.add`) or as a multipart upload, with room for the rest of the call.
 */
export const MAX_DOCUMENT_BODY_BYTES = 6 * 1024 * 1024;
/** What a PDF's streams may decode to, in all, every filter layer counted: a few KB of Flate can hide gigabytes. */
export const MAX_PDF_DECODED_BYTES = 64 * 1024 * 1024;
/** A PDF's text (UTF-8) may be as large as a text document: pdf.js holds ~25 bytes of memory per character it extracts. */
export const MAX_PDF_TEXT_BYTES = MAX_DOCUMENT_BYTES;
