import { createDeflate, deflateSync } from "node:zlib";

/**
 * PDFs written byte by byte, for tests: a reader's view of them is exactly what is written here,
 * so a test can give a stream any dictionary and any data, however hostile. `PDF_BOMBS` are the
 * four kinds of decompression bomb the document bounds are tested against.
 */

/**
 * A one-page PDF whose page's /Contents is one stream with the given dictionary entries (its
 * /Length is added unless they give one) and data; `extraObjects` (streams or other objects) are numbered from 6 on;
 * `pageEntries` and `trailerEntries` are added to the page's and the trailer's dictionaries.
 */
export function onePagePdf(
  contents: { dictionary: string; data: Uint8Array },
  options: { extraObjects?: (string | { dictionary: string; data: Uint8Array })[]; pageEntries?: string; trailerEntries?: string } = {},
): Uint8Array<ArrayBuffer> {
  const objects: (string | { dictionary: string; data: Uint8Array })[] = [
    "<</Type/Catalog/Pages 2 0 R>>",
    "<</Type/Pages/Kids[3 0 R]/Count 1>>",
    `<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R${options.pageEntries ?? ""}>>`,
    contents,
    "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ...(options.extraObjects ?? []),
  ];
  const parts: Buffer[] = [];
  let size = 0;
  const write = (part: string | Uint8Array) => {
    const bytes = typeof part === "string" ? Buffer.from(part, "latin1") : Buffer.from(part);
    parts.push(bytes);
    size += bytes.length;
  };
  write("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
  const offsets = objects.map((body, i) => {
    const offset = size;
    if (typeof body === "string") write(`${i + 1} 0 obj\n${body}\nendobj\n`);
    else {
      const length = /\/Length\b/.test(body.dictionary) ? "" : `/Length ${body.data.byteLength}`;
      write(`${i + 1} 0 obj\n<<${body.dictionary}${length}>>\nstream\n`);
      write(body.data);
      write("\nendstream\nendobj\n");
    }
    return offset;
  });
  const xref = size;
  write(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`);
  write(`trailer\n<</Size ${objects.length + 1}/Root 1 0 R${options.trailerEntries ?? ""}>>\nstartxref\n${xref}\n%%EOF\n`);
  return new Uint8Array(Buffer.concat(parts));
}

/** A content stream that shows `text` (bytes of a literal string) in the page's font, on one line. */
export const showText = (text: Uint8Array | string) => Buffer.concat([Buffer.from("BT /F1 12 Tf 20 700 Td ("), Buffer.from(text), Buffer.from(") Tj ET\n")]);

/** A run of `count` copies of one character, as a part of `deflated`'s input. */
export const repeated = (character: string, count: number) => ({ character, count });

/** The parts, one after another, deflated as they are written (a gigabyte of repeats never sits in memory). */
export async function deflated(parts: (Uint8Array | ReturnType<typeof repeated>)[]): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on("data", (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve, reject) => deflate.on("end", resolve).on("error", reject));
  const write = async (chunk: Uint8Array) => {
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once("drain", resolve));
  };
  for (const part of parts) {
    if (part instanceof Uint8Array) await write(part);
    else {
      const block = Buffer.alloc(1024 * 1024, part.character);
      for (let left = part.count; left > 0; left -= block.length) await write(block.subarray(0, Math.min(left, block.length)));
    }
  }
  deflate.end();
  await ended;
  return Buffer.concat(out);
}

/** LZW as PDF writes it (9- to 12-bit codes, EarlyChange 1), for streams pdf.js must decode. */
export function lzwEncode(input: Uint8Array): Buffer {
  const out: number[] = [];
  let bits = 0;
  let pending = 0;
  let width = 9;
  const emit = (code: number) => {
    pending = (pending << width) | code;
    bits += width;
    while (bits >= 8) {
      out.push((pending >>> (bits - 8)) & 0xff);
      bits -= 8;
      pending &= (1 << bits) - 1;
    }
  };
  /** Codes by (prefix code, next byte). */
  let table = new Map<number, number>();
  let next = 258;
  emit(256);
  let word = -1;
  for (const byte of input) {
    const extended = table.get(word * 256 + byte);
    if (word >= 0 && extended !== undefined) {
      word = extended;
      continue;
    }
    if (word >= 0) {
      emit(word);
      table.set(word * 256 + byte, next++);
      if (next + 1 > 1 << width) width++;
      if (next >= 4094) {
        emit(256);
        table = new Map();
        next = 258;
        width = 9;
      }
    }
    word = byte;
  }
  if (word >= 0) {
    emit(word);
    // The decoder adds an entry on reading that code, and may widen its codes for the last one.
    if (++next + 1 > 1 << width) width++;
  }
  emit(257);
  if (bits > 0) out.push((pending << (8 - bits)) & 0xff);
  return Buffer.from(out);
}

/** ASCII85 as PDF writes it (no `z` shortcut), ending in `~>`. */
export const ascii85Encode = (bytes: Uint8Array) => {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    const group = [0, 1, 2, 3].map((j) => bytes[i + j] ?? 0);
    let value = ((group[0]! << 24) | (group[1]! << 16) | (group[2]! << 8) | group[3]!) >>> 0;
    const chars: string[] = [];
    for (let j = 0; j < 5; j++) {
      chars.unshift(String.fromCharCode((value % 85) + 33));
      value = Math.floor(value / 85);
    }
    out += chars.slice(0, Math.min(5, bytes.length - i + 1)).join("");
  }
  return Buffer.from(`${out}~>`);
};

/** RunLength as PDF writes it: literal runs of up to 128 bytes, then the end marker. */
export function runLengthEncode(bytes: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 128) {
    const run = bytes.subarray(at, at + 128);
    parts.push(Buffer.from([run.length - 1]), Buffer.from(run));
  }
  return Buffer.concat([...parts, Buffer.from([128])]);
}

const MB = 1024 * 1024;
/** What the bombs' pages show before their padding: a reader that decodes them finds this. */
export const BOMB_TEXT = "Quarterly widget output rose by nine percent.";

/** The four kinds, each with the limit it must be refused by. */
export const PDF_BOMBS: { name: string; build: () => Promise<Uint8Array<ArrayBuffer>>; refusal: string }[] = [
  {
    name: "single compression: 30 MB of text in one string, deflated once (~30 KB)",
    build: async () => onePagePdf({ dictionary: "/Filter/FlateDecode", data: deflateSync(showText(Buffer.alloc(30 * MB, "A")), { level: 9 }) }),
    refusal: "The PDF's text comes to more than 5 MB",
  },
  {
    name: "double compression: the same deflated twice (under 1 KB)",
    build: async () =>
      onePagePdf({ dictionary: "/Filter[/FlateDecode/FlateDecode]", data: deflateSync(deflateSync(showText(Buffer.alloc(30 * MB, "A")), { level: 9 }), { level: 9 }) }),
    refusal: "The PDF's text comes to more than 5 MB",
  },
  {
    name: "a stream whose dictionary lies: an 'image' that is the page's /Contents, 200 MB inflated",
    build: async () =>
      onePagePdf({
        dictionary: "/Type/XObject/Subtype/Image/Width 1/Height 1/ColorSpace/DeviceGray/BitsPerComponent 8/Filter/FlateDecode",
        data: await deflated([showText(BOMB_TEXT), repeated(" ", 200 * MB)]),
      }),
    refusal: "The PDF's streams decode to more than 64 MB",
  },
  {
    name: "a gigabyte: a few KB inflating to 1 GB through two Flate layers",
    build: async () => onePagePdf({ dictionary: "/Filter[/FlateDecode/FlateDecode]", data: deflateSync(await deflated([showText(BOMB_TEXT), repeated(" ", 1024 * MB)]), { level: 9 }) }),
    refusal: "The PDF's streams decode to more than 64 MB",
  },
];
