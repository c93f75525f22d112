import { brotliCompressSync, deflateRawSync, deflateSync } from "node:zlib";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { parseFile } from "./parse";
import { ascii85Encode, deflated, lzwEncode, onePagePdf, repeated, runLengthEncode, showText } from "./pdfFixtures";
import { measurePdf, shownTextBytes } from "./pdfStreams";

/**
 * The measure of a PDF before pdf.js reads it (pdfStreams.ts): every stream, whatever its
 * dictionary says, every filter layer pdf.js would apply, counted while decoding. Small limits
 * here, so each bomb is a few KB; the real limits are tested through the upload route.
 */

const MB = 1024 * 1024;
const limits = { decodedBytes: 4 * MB, textBytes: 1 * MB };
const DECODED = "The PDF's streams decode to more than 4 MB";
const TEXT = "The PDF's text comes to more than 1 MB";
const measure = (bytes: Uint8Array) => measurePdf(bytes, limits, "file");
const refusal = (bytes: Uint8Array) =>
  measure(bytes).then(
    () => "accepted",
    (error: Error) => error.message,
  );
/** Content of `bytes` spaces after a line of text: `bytes` of decoded data that show almost nothing. */
const spaces = (bytes: number) => Buffer.concat([showText("Padded."), Buffer.alloc(bytes, " ")]);
const contents = (dictionary: string, data: Uint8Array) => onePagePdf({ dictionary, data });

describe("a PDF as writers make it", () => {
  it("is measured and read: pdf-lib's object streams, fonts and 200 pages of text", async () => {
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    for (let i = 0; i < 200; i++) pdf.addPage([400, 400]).drawText(`Page ${i} says the widget output rose.`, { x: 20, y: 200, size: 12, font });
    const bytes = await pdf.save();
    const started = performance.now();
    await measurePdf(bytes, { decodedBytes: 64 * MB, textBytes: 5 * MB }, "file");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await parseFile(bytes, "application/pdf")).map((b) => b.text).join(" ")).toContain("Page 199 says the widget output rose.");
  });

  it("reads content in each filter pdf.js knows, decoded here as pdf.js decodes it", async () => {
    const text = showText("Encoded as PDF writers do.");
    const encoded: [string, Uint8Array][] = [
      ["/Filter/LZWDecode", lzwEncode(text)],
      ["/Filter/ASCII85Decode", ascii85Encode(text)],
      ["/Filter/ASCIIHexDecode", Buffer.from(`${text.toString("hex")}>`)],
      ["/Filter/RunLengthDecode", runLengthEncode(text)],
      ["/Filter[/ASCII85Decode/FlateDecode]", ascii85Encode(deflateSync(text))],
    ];
    for (const [dictionary, data] of encoded) {
      const bytes = contents(dictionary, data);
      await measure(bytes);
      expect((await parseFile(bytes, "application/pdf")).map((b) => b.text), dictionary).toEqual(["Encoded as PDF writers do."]);
    }
  });
});

describe("a PDF whose streams decode past the limit", () => {
  it("is refused whatever filter makes it: Flate, Brotli, LZW, RunLength, or layers of them", async () => {
    const content = spaces(5 * MB);
    const bombs: [string, Uint8Array][] = [
      ["/Filter/FlateDecode", deflateSync(content)],
      ["/Filter[/FlateDecode/FlateDecode]", deflateSync(deflateSync(content))],
      ["/Filter[/FlateDecode/FlateDecode/FlateDecode]", deflateSync(deflateSync(deflateSync(content)))],
      ["/Filter/BrotliDecode", brotliCompressSync(content)],
      ["/Filter[/ASCIIHexDecode/FlateDecode]", Buffer.from(`${deflateSync(content).toString("hex")}>`)],
      ["/Filter[/ASCII85Decode/FlateDecode]", ascii85Encode(deflateSync(content))],
      ["/Filter/LZWDecode", lzwEncode(content)],
      // Codes past the table's end: pdf.js repeats the last sequence one longer each time.
      ["/Filter/LZWDecode", Buffer.alloc(8 * 1024, 0xff)],
      ["/Filter/RunLengthDecode", Buffer.alloc(80 * 1024, 0x81)],
    ];
    for (const [dictionary, data] of bombs) expect(await refusal(contents(dictionary, data)), dictionary).toBe(DECODED);
  });

  it("is refused whatever its dictionary claims or however it names its filters", async () => {
    const bomb = deflateSync(spaces(5 * MB));
    for (const dictionary of [
      "/Type/XObject/Subtype/Image/Width 1/Height 1/BitsPerComponent 8/ColorSpace/DeviceGray/Filter/FlateDecode",
      "/Filter/Fl",
      "/Filter/Fl#61teDecode",
      "/F/FlateDecode",
      "/Filter 6 0 R",
      "/Filter[6 0 R]",
      "/Title(<< /Filter /Nothing >> stream)/Filter/FlateDecode",
    ]) {
      const bytes = onePagePdf({ dictionary, data: bomb }, { extraObjects: ["/FlateDecode"] });
      expect(await refusal(bytes), dictionary).toBe(DECODED);
    }
  });

  it("is refused when its data holds a decoy `endstream` before the real end, whatever its /Length says", async () => {
    // zlib data whose first (stored) block is the decoy, then the bomb; the checksum is left out.
    const decoy = Buffer.from("\nendstream\nendobj\n");
    const storedBlock = Buffer.concat([Buffer.from([0x00, decoy.length, 0x00, ~decoy.length & 0xff, 0xff]), decoy]);
    const data = Buffer.concat([Buffer.from([0x78, 0x01]), storedBlock, deflateRawSync(spaces(5 * MB))]);
    expect(await refusal(contents("/Filter/FlateDecode", data))).toBe(DECODED);
    // A /Length with no `endstream` after it is not believed (pdf.js looks for one): measured to the end.
    expect(await refusal(onePagePdf({ dictionary: "/Filter/FlateDecode/Length 3", data }))).toBe(DECODED);
  });

  it("is refused when the stream sits inside another decoded stream (an object stream)", async () => {
    const inner = Buffer.concat([Buffer.from("6 0 <</Filter/FlateDecode>>\nstream\n"), deflateSync(spaces(5 * MB)), Buffer.from("\nendstream")]);
    const bytes = onePagePdf({ dictionary: "", data: showText("Hi.") }, { extraObjects: [{ dictionary: "/Type/ObjStm/N 1/First 4/Filter/FlateDecode", data: deflateSync(inner) }] });
    expect(await refusal(bytes)).toBe(DECODED);
  });

  it("is refused when a predictor's rows would be larger than the limit, or its data goes through another layer", async () => {
    const tiny = deflateSync(Buffer.from("x"));
    expect(await refusal(contents("/Filter/FlateDecode/DecodeParms<</Predictor 12/Colors 4/Columns 100000000>>", tiny))).toBe(DECODED);
    // PNG rows of 100 bytes (filter type 0) around a deflated bomb, deflated again.
    const inner = deflateSync(spaces(5 * MB));
    const rows = Buffer.concat(Array.from({ length: Math.ceil(inner.length / 100) }, (_, i) => Buffer.concat([Buffer.from([0]), inner.subarray(i * 100, i * 100 + 100)])));
    expect(await refusal(contents("/Filter[/FlateDecode/FlateDecode]/DecodeParms[<</Predictor 12/Columns 100>> null]", deflateSync(rows)))).toBe(DECODED);
  });

  it("stops decoding at the limit: 256 MB's worth is refused in a moment", async () => {
    const quarterGigabyte = deflateSync(await deflated([showText("x"), repeated(" ", 256 * MB)]), { level: 9 });
    const started = performance.now();
    expect(await refusal(contents("/Filter[/FlateDecode/FlateDecode]", quarterGigabyte))).toBe(DECODED);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("a PDF that cannot be measured", () => {
  it("is refused when it is encrypted (pdf.js would decrypt what is measured here) or names a filter by a missing object", async () => {
    const fine = showText("Hi.");
    expect(await refusal(onePagePdf({ dictionary: "", data: fine }, { trailerEntries: "/Encrypt 9 0 R" }))).toBe(
      "This PDF could not be read: it is encrypted; save it without a password or restrictions and upload it again",
    );
    expect(await refusal(contents("/Filter 9 0 R", fine))).toBe("This PDF could not be read: a stream's filters refer to an object that is not in the file");
  });
});

describe("a file of decoys", () => {
  it("is measured or refused in moments: stream keywords, dictionary openings and trailers by the hundred thousand", async () => {
    for (const decoys of [" stream".repeat(700_000), "<<(((((".repeat(100_000) + " stream\n".repeat(100_000), "trailer<<(".repeat(500_000), "<</F/AHx>>stream\nzzzz\n".repeat(200_000)]) {
      const started = performance.now();
      await refusal(Buffer.from(decoys));
      expect(performance.now() - started, decoys.slice(0, 20)).toBeLessThan(3_000);
    }
  });
});

describe("the text a PDF shows", () => {
  it("counts the strings text operators take, in any stream, and refuses past the limit", async () => {
    expect(await refusal(contents("", showText(Buffer.alloc(1 * MB + 1, "A"))))).toBe(TEXT);
    expect(await refusal(contents("/Filter[/FlateDecode/FlateDecode]", deflateSync(deflateSync(showText(Buffer.alloc(2 * MB, "A"))))))).toBe(TEXT);
    expect(await refusal(contents("", showText(Buffer.alloc(1 * MB, "A"))))).toBe("accepted");
  });

  it("counts literal and hex strings of Tj, TJ, ' and \", and nothing else", () => {
    const content = Buffer.from(
      "BT /F1 12 Tf (abc) Tj [(de) -20 <6667>] TJ 1 2 (h) \" (ij) ' ET /P <</MCID 0 /Alt (not shown)>> BDC EMC (ignored) Tf BI /W 1 ID (((( EI Q",
    );
    expect(shownTextBytes(content)).toBe(3 + 2 + 2 + 1 + 2);
  });
});
