import { brotliDecompressSync, createBrotliDecompress, createInflate, inflateSync, constants as zlib } from "node:zlib";
import type { Transform } from "node:stream";
import { badInput } from "../platform/errors";

/**
 * What reading a PDF may cost, measured before pdf.js reads it. pdf.js decodes a stream with the
 * filters its dictionary names, wherever the stream is used (an "image" may be a page's contents),
 * and objects inside a decoded object stream may be streams again. So every stream is measured:
 * each `stream` keyword in the file and in every decoded stream, whatever its dictionary claims, is
 * decoded here layer by layer (FlateDecode, LZW, Brotli, RunLength, ASCII85, ASCIIHex and the
 * predictors, as pdf.js does them), every layer's output counted against the decoded-bytes limit
 * as it is produced, so decoding stops at the limit; and the strings that text operators would show
 * are counted against the text limit. Image codecs (DCT, JPX, JBIG2, CCITT) are not decoded: text
 * extraction never reads them, and the reading process's memory cap bounds a document that does.
 */

export interface PdfLimits {
  /** What all the PDF's streams may decode to, every filter layer counted. */
  decodedBytes: number;
  /** The bytes of the strings its pages may show. */
  textBytes: number;
}

/** How far back from a `stream` keyword its dictionary is looked for, and how many `<<` are tried. */
const DICTIONARY_WINDOW = 64 * 1024;
const DICTIONARY_TRIES = 16;
/** Object streams may hold streams; nested deeper than this, a PDF is not one any writer makes. */
const MAX_STREAM_NESTING = 4;
/** Layers of zlib data inflated in a stream whose dictionary is not found. */
const SNIFFED_LAYERS = 4;
const MAX_VALUE_NESTING = 32;

const MB = 1024 * 1024;

class Meter {
  private decodedLeft: number;
  private textLeft: number;
  /** Bytes the dictionary search may read, so a file of decoys cannot make it quadratic. */
  searchLeft: number;
  /**
   * Bytes the decoders written here may read: a stream measured to the end of what holds it is
   * read until its decoder finds its end, and ASCIIHex finds none in data made of other characters.
   */
  workLeft: number;

  constructor(
    readonly limits: PdfLimits,
    readonly field: string,
    fileBytes: number,
  ) {
    this.decodedLeft = limits.decodedBytes;
    this.textLeft = limits.textBytes;
    this.searchLeft = 32 * fileBytes + MB;
    this.workLeft = 4 * (fileBytes + limits.decodedBytes);
  }

  /** What a decoder may still produce before the PDF is refused. */
  get decodedRoom() {
    return this.decodedLeft;
  }

  decoded(bytes: number) {
    this.decodedLeft -= bytes;
    if (this.decodedLeft < 0) throw badInput(this.field, `The PDF's streams decode to more than ${this.limits.decodedBytes / MB} MB`);
  }

  text(bytes: number) {
    this.textLeft -= bytes;
    if (this.textLeft < 0) throw pdfTextTooLong(this.field, this.limits.textBytes);
  }

  unreadable(why: string) {
    return badInput(this.field, `This PDF could not be read: ${why}`);
  }
}

/** The refusal of a PDF whose text passes the limit, here or as pdf.js extracts it (parse.ts). */
export const pdfTextTooLong = (field: string, limitBytes: number) => badInput(field, `The PDF's text comes to more than ${limitBytes / MB} MB`);

/** Refuses the PDF (bad input on `field`) when reading it would pass a limit; see the module comment. */
export async function measurePdf(bytes: Uint8Array, limits: PdfLimits, field: string): Promise<void> {
  const file = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const meter = new Meter(limits, field, file.byteLength);
  const objects = new ObjectIndex(file);
  if (hasEncryptedTrailer(file, meter)) throw encrypted(meter);
  await measureBuffer(file, { meter, objects }, 0);
}

interface Scan {
  meter: Meter;
  objects: ObjectIndex;
}

const encrypted = (meter: Meter) => meter.unreadable("it is encrypted; save it without a password or restrictions and upload it again");

/** Counts the text `buffer` shows, then decodes each stream in it and measures what comes out. */
async function measureBuffer(buffer: Buffer, scan: Scan, nesting: number): Promise<void> {
  scan.meter.text(shownTextBytes(buffer));
  for (const { keyword, dataStart } of streamStarts(buffer)) {
    if (nesting > MAX_STREAM_NESTING) throw scan.meter.unreadable("its streams are nested too deeply");
    const { chain, end } = readingOf(buffer, keyword, dataStart, scan);
    const output = await decode(buffer.subarray(dataStart, end), chain, scan.meter);
    if (output) await measureBuffer(output, scan, nesting + 1);
  }
}

// --- PDF syntax: what pdf.js's lexer calls whitespace and delimiters, tokens and objects ---

const WHITESPACE = new Uint8Array(256);
for (const c of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) WHITESPACE[c] = 1;
const DELIMITER = new Uint8Array(256);
for (const c of "()<>[]{}/%") DELIMITER[c.charCodeAt(0)] = 1;
const isRegular = (c: number | undefined) => c !== undefined && !WHITESPACE[c] && !DELIMITER[c];
const hexDigit = (c: number | undefined) =>
  c === undefined ? -1 : c >= 0x30 && c <= 0x39 ? c - 0x30 : (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) ? (c & 0x0f) + 9 : -1;

const KEYWORD_STREAM = Buffer.from("stream");

/** Each `stream` keyword of the buffer, and where its data starts (after its end of line, as pdf.js skips it). */
function* streamStarts(buffer: Buffer): Generator<{ keyword: number; dataStart: number }> {
  let lineEnd = -1;
  for (let at = buffer.indexOf(KEYWORD_STREAM); at >= 0; at = buffer.indexOf(KEYWORD_STREAM, at + 1)) {
    if (isRegular(buffer[at - 1]) || isRegular(buffer[at + 6])) continue; // part of a longer word, e.g. `endstream`
    // The first end of line after the keyword (found once for all the keywords on one line).
    if (lineEnd < at + 6) for (lineEnd = at + 6; lineEnd < buffer.length && buffer[lineEnd] !== 0x0a && buffer[lineEnd] !== 0x0d; lineEnd++);
    const dataStart = buffer[lineEnd] === 0x0d && buffer[lineEnd + 1] === 0x0a ? lineEnd + 2 : lineEnd + 1;
    if (dataStart < buffer.length) yield { keyword: at, dataStart };
  }
}

function skipSpace(buffer: Buffer, at: number, end = buffer.length): number {
  let i = at;
  while (i < end) {
    const c = buffer[i]!;
    if (WHITESPACE[c]) i++;
    else if (c === 0x25) while (i < end && buffer[i] !== 0x0a && buffer[i] !== 0x0d) i++;
    else break;
  }
  return i;
}

class PdfName {
  constructor(readonly name: string) {}
}
class PdfRef {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}
}
type PdfDict = Map<string, PdfValue>;
type PdfValue = number | boolean | null | PdfName | PdfRef | PdfDict | PdfValue[] | { string: number };

type Token =
  | { kind: "<<" | ">>" | "[" | "]" | "end" | "bad" }
  | { kind: "name"; name: string }
  | { kind: "number"; value: number }
  | { kind: "string"; bytes: number }
  | { kind: "keyword"; word: string };

/** pdf.js's tokens, over `buffer` up to `end`. */
class Lexer {
  constructor(
    readonly buffer: Buffer,
    public at: number,
    readonly end = buffer.length,
  ) {}

  next(): Token {
    const { buffer, end } = this;
    let i = (this.at = skipSpace(buffer, this.at, end));
    if (i >= end) return { kind: "end" };
    const c = buffer[i]!;
    if (c === 0x28) {
      // A literal string: balanced parentheses, backslash escapes.
      let depth = 1;
      for (i++; i < end && depth > 0; i++) {
        const s = buffer[i];
        if (s === 0x5c) i++;
        else if (s === 0x28) depth++;
        else if (s === 0x29) depth--;
      }
      const bytes = i - this.at - 2;
      this.at = i;
      return { kind: "string", bytes };
    }
    if (c === 0x3c) {
      if (buffer[i + 1] === 0x3c) return (this.at = i + 2), { kind: "<<" };
      const close = buffer.subarray(i + 1, end).indexOf(0x3e);
      const stop = close < 0 ? end : i + 2 + close;
      let digits = 0;
      for (let h = i + 1; h < stop; h++) if (hexDigit(buffer[h]) >= 0) digits++;
      this.at = stop;
      return { kind: "string", bytes: (digits + 1) >> 1 };
    }
    if (c === 0x3e) {
      if (buffer[i + 1] === 0x3e) return (this.at = i + 2), { kind: ">>" };
      return (this.at = i + 1), { kind: "bad" };
    }
    if (c === 0x5b || c === 0x5d) return (this.at = i + 1), { kind: c === 0x5b ? "[" : "]" };
    if (c === 0x2f) return this.name(i + 1);
    if (DELIMITER[c]) return (this.at = i + 1), { kind: "bad" };
    let stop = i;
    while (stop < end && isRegular(buffer[stop])) stop++;
    const word = buffer.toString("latin1", i, stop);
    const number = /^[+-]?(\d+\.?\d*|\.\d+)/.exec(word);
    if (number && /[0-9+\-.]/.test(word[0]!)) {
      this.at = i + number[0].length;
      return { kind: "number", value: Number(number[0]) };
    }
    this.at = stop;
    return { kind: "keyword", word };
  }

  /** A name, its `#xx` escapes decoded as pdf.js decodes them. */
  private name(from: number): Token {
    const { buffer, end } = this;
    let name = "";
    let i = from;
    while (i < end && isRegular(buffer[i])) {
      const c = buffer[i]!;
      if (c === 0x23) {
        const high = hexDigit(buffer[i + 1]);
        const low = hexDigit(buffer[i + 2]);
        if (high >= 0 && low >= 0 && isRegular(buffer[i + 1]) && isRegular(buffer[i + 2])) {
          name += String.fromCharCode((high << 4) | low);
          i += 3;
          continue;
        }
      }
      name += String.fromCharCode(c);
      i++;
    }
    this.at = i;
    return { kind: "name", name };
  }
}

/** One object at the lexer's place, or undefined when what is there is not one. */
function parseValue(lexer: Lexer, depth = 0): PdfValue | undefined {
  if (depth > MAX_VALUE_NESTING) return undefined;
  const token = lexer.next();
  switch (token.kind) {
    case "<<": {
      const dict: PdfDict = new Map();
      for (;;) {
        const key = lexer.next();
        if (key.kind === ">>") return dict;
        if (key.kind !== "name") return undefined;
        const value = parseValue(lexer, depth + 1);
        if (value === undefined) return undefined;
        dict.set(key.name, value);
      }
    }
    case "[": {
      const array: PdfValue[] = [];
      for (;;) {
        const before = lexer.at;
        if (lexer.next().kind === "]") return array;
        lexer.at = before;
        const value = parseValue(lexer, depth + 1);
        if (value === undefined) return undefined;
        array.push(value);
      }
    }
    case "name":
      return new PdfName(token.name);
    case "string":
      return { string: token.bytes };
    case "number": {
      // `num gen R` is a reference.
      const before = lexer.at;
      const gen = lexer.next();
      if (Number.isInteger(token.value) && gen.kind === "number" && Number.isInteger(gen.value)) {
        const r = lexer.next();
        if (r.kind === "keyword" && r.word === "R") return new PdfRef(token.value, gen.value);
      }
      lexer.at = before;
      return token.value;
    }
    case "keyword":
      return token.word === "true" ? true : token.word === "false" ? false : token.word === "null" ? null : undefined;
    default:
      return undefined;
  }
}

/** Objects of the file by number, found by their `num gen obj` headers (the last one counts, as after an update). */
class ObjectIndex {
  private offsets: Map<string, number> | undefined;
  private readonly parsed = new Map<string, PdfValue | undefined>();
  constructor(private readonly file: Buffer) {}

  private lookup(ref: PdfRef): PdfValue | undefined {
    const key = `${ref.num} ${ref.gen}`;
    if (!this.parsed.has(key)) {
      this.offsets ??= this.index();
      const at = this.offsets.get(key);
      const value = at === undefined ? undefined : parseValue(lexerAt(this.file, at));
      this.parsed.set(key, value instanceof PdfRef ? undefined : value);
    }
    return this.parsed.get(key);
  }

  /** A value with a reference followed; a reference to nothing refuses the PDF, as what pdf.js would decode is then unknown. */
  resolve(value: PdfValue | undefined, meter: Meter): PdfValue | undefined {
    if (!(value instanceof PdfRef)) return value;
    const resolved = this.lookup(value);
    if (resolved === undefined) throw meter.unreadable("a stream's filters refer to an object that is not in the file");
    return resolved;
  }

  private index(): Map<string, number> {
    const offsets = new Map<string, number>();
    const header = /(?<![0-9])(\d+)[\0\t\n\f\r ]+(\d+)[\0\t\n\f\r ]+obj(?![^\0\t\n\f\r ()<>[\]{}/%])/g;
    for (const match of this.file.toString("latin1").matchAll(header)) offsets.set(`${match[1]} ${match[2]}`, match.index + match[0].length);
    return offsets;
  }
}

/** A lexer that reads at most a dictionary's window from `at`, so decoys cannot make a scan quadratic. */
const lexerAt = (buffer: Buffer, at: number) => new Lexer(buffer, at, Math.min(buffer.length, at + DICTIONARY_WINDOW));

/**
 * The dictionary of the stream whose keyword is at `keyword`: the nearest `<<` before it whose
 * dictionary ends right before the keyword (a nested dictionary ends at its own `>>`, and one
 * that starts inside a string meets a token the strict parse refuses), or undefined.
 */
function dictionaryOf(buffer: Buffer, keyword: number, meter: Meter): PdfDict | undefined {
  let from = keyword;
  for (let tries = 0; tries < DICTIONARY_TRIES; tries++) {
    const open = from > 0 ? buffer.lastIndexOf("<<", from - 1) : -1;
    if (open < 0 || keyword - open > DICTIONARY_WINDOW) return undefined;
    const lexer = new Lexer(buffer, open, keyword);
    const value = parseValue(lexer);
    meter.searchLeft -= lexer.at - open;
    if (meter.searchLeft < 0) throw meter.unreadable("it has too many streams to measure");
    if (value instanceof Map && skipSpace(buffer, lexer.at, keyword) === keyword) return value;
    from = open;
  }
  return undefined;
}

/** A trailer (or cross-reference stream) naming an encryption dictionary: pdf.js would decrypt what is measured here. */
function hasEncryptedTrailer(file: Buffer, meter: Meter): boolean {
  for (let at = file.indexOf("trailer"); at >= 0; at = file.indexOf("trailer", at + 1)) {
    const lexer = lexerAt(file, at + 7);
    const value = parseValue(lexer);
    meter.searchLeft -= lexer.at - at;
    if (meter.searchLeft < 0) throw meter.unreadable("it has too many trailers to read");
    if (value instanceof Map && value.has("Encrypt")) return true;
  }
  // A cross-reference stream carries the trailer's keys in its own dictionary.
  return /\/Encrypt[\0\t\n\f\r ]*(\d+[\0\t\n\f\r ]+\d+[\0\t\n\f\r ]+R|<<)/.test(file.toString("latin1"));
}

// --- filters ---

type Layer =
  | { kind: "flate" | "brotli" | "runLength" | "ascii85" | "asciiHex" }
  /** Inflated when it starts like zlib data, else left as it is. */
  | { kind: "zlib?" }
  | { kind: "lzw"; earlyChange: number }
  | { kind: "predictor"; predictor: number; colors: number; bits: number; columns: number }
  /** An image codec: text extraction never decodes one, and nothing after it is measured. */
  | { kind: "image" };

/**
 * How pdf.js reads the stream: the filter layers its dictionary names (pdf.js reads `F` before
 * `Filter`, `DP` before `DecodeParms`, and takes parameters for a filter array only from an array)
 * and where its data ends: at its /Length when that is a number and `endstream` follows there (as
 * pdf.js checks), else wherever pdf.js finds an `endstream`, so here the buffer's end (each decoder
 * stops at its own end). An indirect /Length is not followed: which of several objects of that
 * number pdf.js takes is its cross-reference table's choice. A stream with no dictionary found is
 * one pdf.js would not see, but zlib data in it is inflated all the same.
 */
function readingOf(buffer: Buffer, keyword: number, dataStart: number, scan: Scan): { chain: Layer[]; end: number } {
  const dict = dictionaryOf(buffer, keyword, scan.meter);
  if (!dict) return { chain: Array.from({ length: SNIFFED_LAYERS }, () => ({ kind: "zlib?" }) as const), end: buffer.length };
  if (dict.has("Encrypt")) throw encrypted(scan.meter);
  return { chain: chainOf(dict, scan), end: dataEnd(buffer, dataStart, dict.get("Length")) };
}

function dataEnd(buffer: Buffer, dataStart: number, length: PdfValue | undefined): number {
  if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || dataStart + length > buffer.length) return buffer.length;
  const after = skipSpace(buffer, dataStart + length);
  const endsThere = buffer.toString("latin1", after, after + 9) === "endstream" && !isRegular(buffer[after + 9]);
  return endsThere ? dataStart + length : buffer.length;
}

function chainOf(dict: PdfDict, { objects, meter }: Scan): Layer[] {
  const resolve = (value: PdfValue | undefined) => objects.resolve(value, meter);
  const filter = resolve(dict.has("F") ? dict.get("F") : dict.get("Filter"));
  const params = resolve(dict.has("DP") ? dict.get("DP") : dict.get("DecodeParms"));
  const named =
    filter instanceof PdfName
      ? [{ name: filter.name, params }]
      : Array.isArray(filter)
        ? filter.map((f, i) => ({ name: (resolve(f) as PdfName | undefined)?.name ?? "", params: Array.isArray(params) ? resolve(params[i]) : undefined }))
        : [];
  const chain: Layer[] = [];
  for (const { name, params: p } of named) {
    const decodeParms = p instanceof Map ? p : undefined;
    const number = (key: string, otherKey?: string) => {
      const value = resolve(decodeParms?.get(key) ?? (otherKey ? decodeParms?.get(otherKey) : undefined));
      return typeof value === "number" ? value : undefined;
    };
    const predictor = decodeParms && (number("Predictor") ?? 1) > 1 && {
      kind: "predictor" as const,
      predictor: number("Predictor")!,
      colors: number("Colors") || 1,
      bits: number("BPC", "BitsPerComponent") || 8,
      columns: number("Columns") || 1,
    };
    switch (name) {
      case "Fl":
      case "FlateDecode":
        chain.push({ kind: "flate" }, ...(predictor ? [predictor] : []));
        break;
      case "LZW":
      case "LZWDecode":
        chain.push({ kind: "lzw", earlyChange: number("EarlyChange") ?? 1 }, ...(predictor ? [predictor] : []));
        break;
      case "BrotliDecode":
        chain.push({ kind: "brotli" });
        break;
      case "RL":
      case "RunLengthDecode":
        chain.push({ kind: "runLength" });
        break;
      case "A85":
      case "ASCII85Decode":
        chain.push({ kind: "ascii85" });
        break;
      case "AHx":
      case "ASCIIHexDecode":
        chain.push({ kind: "asciiHex" });
        break;
      case "DCT":
      case "DCTDecode":
      case "JPX":
      case "JPXDecode":
      case "CCF":
      case "CCITTFaxDecode":
      case "JBIG2Decode":
        chain.push({ kind: "image" });
        return chain;
      // Any other name pdf.js passes over, reading the data as it is.
    }
  }
  return chain;
}

// --- decoding, counted as it goes ---

/**
 * The stream's data decoded through `chain`, every layer counted as it is produced; null when no
 * layer decodes anything (the data is part of the buffer already measured) or an image codec ends
 * the chain. A layer that breaks ends where it broke, as in pdf.js.
 */
async function decode(data: Buffer, chain: Layer[], meter: Meter): Promise<Buffer | null> {
  let bytes = data;
  let decoded = false;
  for (const [i, layer] of chain.entries()) {
    if (layer.kind === "image") return null;
    if (layer.kind === "zlib?" && !startsLikeZlib(bytes)) continue;
    if (layer.kind === "predictor" && i < chain.length - 1 && !predictorDecodes(layer)) throw meter.unreadable("its stream filters are not ones Parley can measure");
    bytes = await decodeLayer(bytes, layer, meter);
    decoded = true;
  }
  return decoded ? bytes : null;
}

/** A zlib header: deflate, and a check that holds (pdf.js refuses Flate data without one). */
const startsLikeZlib = (bytes: Buffer) => bytes.length >= 2 && (bytes[0]! & 0x0f) === 8 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0;

function decodeLayer(input: Buffer, layer: Exclude<Layer, { kind: "image" }>, meter: Meter): Buffer | Promise<Buffer> {
  switch (layer.kind) {
    case "flate":
    case "zlib?":
      return inflateCounted(input, meter, "flate");
    case "brotli":
      return inflateCounted(input, meter, "brotli");
    case "lzw":
      return decodeHere(input, meter, (data, output) => lzwDecode(data, layer.earlyChange, output));
    case "runLength":
      return decodeHere(input, meter, runLengthDecode);
    case "ascii85":
      return decodeHere(input, meter, ascii85Decode);
    case "asciiHex":
      return decodeHere(input, meter, asciiHexDecode);
    case "predictor":
      return decodeHere(input, meter, (data, output) => predict(data, layer, output));
  }
}

/** Runs one of the decoders written here on at most what the work budget has left, charging what it read. */
function decodeHere(input: Buffer, meter: Meter, decoder: (input: Buffer, output: Output) => number): Buffer {
  const output = new Output(meter);
  const cut = input.length > meter.workLeft;
  const read = decoder(cut ? input.subarray(0, meter.workLeft) : input, output);
  meter.workLeft -= read;
  if (cut && meter.workLeft <= 0) throw meter.unreadable("its streams take too much work to decode");
  return output.done();
}

/**
 * zlib or Brotli data inflated with zlib's own cap at what the PDF may still decode to (it stops
 * there, it never inflates first and measures after); broken data is inflated again as a stream,
 * to count what came out before the break.
 */
async function inflateCounted(input: Buffer, meter: Meter, kind: "flate" | "brotli"): Promise<Buffer> {
  const options = { maxOutputLength: Math.max(1, meter.decodedRoom + 1), finishFlush: kind === "flate" ? zlib.Z_SYNC_FLUSH : zlib.BROTLI_OPERATION_FLUSH };
  let output: Buffer;
  try {
    output = kind === "flate" ? inflateSync(input, options) : brotliDecompressSync(input, options);
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") meter.decoded(meter.decodedRoom + 1);
    return inflatePartially(input, meter, kind === "flate" ? createInflate({ finishFlush: zlib.Z_SYNC_FLUSH }) : createBrotliDecompress());
  }
  meter.decoded(output.byteLength);
  return output;
}

async function inflatePartially(input: Buffer, meter: Meter, inflater: Transform): Promise<Buffer> {
  const room = meter.decodedRoom;
  const chunks: Buffer[] = [];
  let received = 0;
  await new Promise<void>((resolve) => {
    inflater.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.byteLength;
      if (received > room) inflater.destroy(); // past the limit: no need to go on
    });
    inflater.on("end", resolve).on("error", resolve).on("close", resolve);
    inflater.end(input);
  });
  meter.decoded(received);
  return Buffer.concat(chunks);
}

/** A growing output buffer that counts each byte against the PDF's limit before it is written. */
class Output {
  private buffer = Buffer.allocUnsafe(4096);
  length = 0;
  constructor(private readonly meter: Meter) {}

  reserve(bytes: number) {
    this.meter.decoded(bytes);
    if (this.length + bytes > this.buffer.length) {
      let size = this.buffer.length * 2;
      while (size < this.length + bytes) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }

  push(byte: number) {
    this.reserve(1)[this.length++] = byte;
  }

  done(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

// Each decoder writes to `output` and says how many bytes of `input` it read.

/** LZW as pdf.js decodes it, including its reading of codes past the table's end as "repeat and extend". */
function lzwDecode(input: Buffer, earlyChange: number, output: Output): number {
  const TABLE = 4096;
  const values = new Uint8Array(TABLE);
  const lengths = new Uint16Array(TABLE);
  const prevCodes = new Uint16Array(TABLE);
  for (let i = 0; i < 256; i++) values[i] = i;
  lengths.fill(1, 0, 256);
  const sequence = new Uint8Array(TABLE);
  let sequenceLength = 0;
  let codeLength = 9;
  let nextCode = 258;
  let prevCode = 0;
  let cached = 0;
  let bitsCached = 0;
  let at = 0;
  for (;;) {
    while (bitsCached < codeLength && at < input.length) {
      cached = ((cached << 8) | input[at++]!) & 0xffffff;
      bitsCached += 8;
    }
    if (bitsCached < codeLength) break;
    bitsCached -= codeLength;
    const code = (cached >>> bitsCached) & ((1 << codeLength) - 1);
    const hadPrevious = sequenceLength > 0;
    if (code < 256) {
      sequence[0] = code;
      sequenceLength = 1;
    } else if (code >= 258) {
      if (code < nextCode) {
        sequenceLength = lengths[code]!;
        for (let j = sequenceLength - 1, c = code; j >= 0; j--) {
          sequence[j] = values[c]!;
          c = prevCodes[c]!;
        }
      } else {
        // Past the table's end pdf.js repeats its last sequence one byte longer (no bound but the input's).
        if (sequenceLength < TABLE) sequence[sequenceLength] = sequence[0]!;
        sequenceLength++;
      }
    } else if (code === 256) {
      codeLength = 9;
      nextCode = 258;
      sequenceLength = 0;
      continue;
    } else break;
    if (hadPrevious) {
      if (nextCode < TABLE) {
        prevCodes[nextCode] = prevCode;
        lengths[nextCode] = lengths[prevCode]! + 1;
        values[nextCode] = sequence[0]!;
      }
      nextCode++;
      const next = nextCode + earlyChange;
      codeLength = next & (next - 1) ? codeLength : Math.min(Math.log2(next) + 1, 12) | 0;
    }
    prevCode = code;
    const target = output.reserve(sequenceLength);
    // pdf.js writes zeros for the part of a sequence past its 4096-byte buffer.
    target.set(sequence.subarray(0, Math.min(sequenceLength, TABLE)), output.length);
    if (sequenceLength > TABLE) target.fill(0, output.length + TABLE, output.length + sequenceLength);
    output.length += sequenceLength;
  }
  return at;
}

function runLengthDecode(input: Buffer, output: Output): number {
  let at = 0;
  while (at + 1 < input.length) {
    const n = input[at]!;
    if (n === 128) break;
    if (n < 128) {
      const run = input.subarray(at + 1, at + 2 + n);
      run.copy(output.reserve(run.length), output.length);
      output.length += run.length;
      at += 2 + n;
    } else {
      const count = 257 - n;
      output.reserve(count).fill(input[at + 1]!, output.length, output.length + count);
      output.length += count;
      at += 2;
    }
  }
  return Math.min(at + 1, input.length);
}

function ascii85Decode(input: Buffer, output: Output): number {
  const isSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
  let at = 0;
  const group = new Uint8Array(5);
  for (;;) {
    while (isSpace(input[at])) at++;
    const first = input[at++];
    if (first === undefined || first === 0x7e) break;
    if (first === 0x7a) {
      for (let i = 0; i < 4; i++) output.push(0);
      continue;
    }
    group[0] = first;
    let n = 1;
    for (; n < 5; n++) {
      while (isSpace(input[at])) at++;
      const c = input[at++];
      if (c === undefined || c === 0x7e) break;
      group[n] = c;
    }
    const complete = n === 5;
    for (let i = n; i < 5; i++) group[i] = 0x75;
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 85 + (group[i]! - 33);
    for (let i = 0; i < n - 1; i++) output.push((value >>> (24 - 8 * i)) & 0xff);
    if (!complete) break;
  }
  return Math.min(at, input.length);
}

function asciiHexDecode(input: Buffer, output: Output): number {
  let high = -1;
  let at = 0;
  for (; at < input.length; at++) {
    const c = input[at]!;
    if (c === 0x3e) break;
    const digit = hexDigit(c);
    if (digit < 0) continue;
    if (high < 0) high = digit;
    else {
      output.push((high << 4) | digit);
      high = -1;
    }
  }
  if (high >= 0) output.push(high << 4);
  return at;
}

const predictorDecodes = (p: { predictor: number; bits: number }) => p.predictor >= 10 || p.bits === 8;

/**
 * PNG and TIFF predictors, which pdf.js applies row by row: a row is what the parameters say
 * (pdf.js makes room for a whole row however little data there is), so huge `Columns` count as
 * what they would cost. TIFF rows of other than 8-bit samples are counted, not transformed.
 */
function predict(input: Buffer, p: { predictor: number; colors: number; bits: number; columns: number }, output: Output): number {
  const rowBytes = Math.ceil((p.columns * p.colors * p.bits) / 8);
  const pixelBytes = Math.max(1, Math.ceil((p.colors * p.bits) / 8));
  const png = p.predictor >= 10;
  const inRow = rowBytes + (png ? 1 : 0);
  if (!Number.isFinite(rowBytes) || rowBytes <= 0) return 0;
  let previous = new Uint8Array(rowBytes);
  for (let at = 0; at < input.length; at += inRow) {
    const target = output.reserve(rowBytes);
    const start = output.length;
    const type = png ? input[at]! : 0;
    const raw = input.subarray(at + (png ? 1 : 0), at + inRow);
    for (let i = 0; i < rowBytes; i++) {
      const x = raw[i] ?? 0;
      const left = i >= pixelBytes ? target[start + i - pixelBytes]! : 0;
      const up = previous[i]!;
      const upLeft = i >= pixelBytes ? previous[i - pixelBytes]! : 0;
      let value = x;
      if (!png) value = p.bits === 8 ? x + (i >= p.colors ? target[start + i - p.colors]! : 0) : x;
      else if (type === 1) value = x + left;
      else if (type === 2) value = x + up;
      else if (type === 3) value = x + ((left + up) >> 1);
      else if (type === 4) {
        const estimate = left + up - upLeft;
        const [dl, du, dul] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
        value = x + (dl <= du && dl <= dul ? left : du <= dul ? up : upLeft);
      }
      target[start + i] = value & 0xff;
    }
    output.length += rowBytes;
    previous = target.subarray(start, start + rowBytes);
  }
  return input.length;
}

// --- text ---

/**
 * The bytes of the strings that text-showing operators (`Tj`, `TJ`, `'`, `"`) take in `buffer`
 * read as a content stream: at least one byte per glyph pdf.js would extract. Inline image data
 * (`ID` … `EI`) is skipped as pdf.js skips it. One pass over the bytes, no tokens made.
 */
export function shownTextBytes(buffer: Buffer): number {
  const end = buffer.length;
  let shown = 0;
  let operands = 0;
  let i = 0;
  while (i < end) {
    const c = buffer[i]!;
    if (WHITESPACE[c]) i++;
    else if (c === 0x25) while (i < end && buffer[i] !== 0x0a && buffer[i] !== 0x0d) i++;
    else if (c === 0x28) {
      const start = i;
      let depth = 1;
      for (i++; i < end && depth > 0; i++) {
        const s = buffer[i];
        if (s === 0x5c) i++;
        else if (s === 0x28) depth++;
        else if (s === 0x29) depth--;
      }
      operands += i - start - 2;
    } else if (c === 0x3c && buffer[i + 1] !== 0x3c) {
      const close = buffer.indexOf(0x3e, i + 1);
      const stop = close < 0 ? end : close + 1;
      operands += (stop - i - 1) >> 1; // two digits a byte
      i = stop;
    } else if ((c === 0x3c || c === 0x3e) && buffer[i + 1] === c) {
      operands = 0; // a dictionary: marked-content properties, not text
      i += 2;
    } else if (c === 0x2f) {
      for (i++; i < end && isRegular(buffer[i]); i++);
    } else if (DELIMITER[c]) i++;
    else {
      const start = i;
      for (i++; i < end && isRegular(buffer[i]); i++);
      const length = i - start;
      const second = buffer[start + 1];
      if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) continue; // a number: an operand
      if ((length === 2 && c === 0x54 && (second === 0x6a || second === 0x4a)) || (length === 1 && (c === 0x27 || c === 0x22))) shown += operands;
      else if (length === 2 && c === 0x49 && second === 0x44) i = inlineImageEnd(buffer, i);
      operands = 0;
    }
  }
  return shown;
}

/** Where inline image data ends: the first `EI` between whitespace (pdf.js looks no nearer). */
function inlineImageEnd(buffer: Buffer, from: number): number {
  for (let at = buffer.indexOf("EI", from); at >= 0; at = buffer.indexOf("EI", at + 1)) {
    if (WHITESPACE[buffer[at - 1]!] && (at + 2 >= buffer.length || WHITESPACE[buffer[at + 2]!])) return at + 2;
  }
  return buffer.length;
}
