import { createTranslator } from "next-intl";
import { z } from "zod";
import en from "@/messages/en.json";
import { contextConfigSchema, sessionInputSchema, strategySchema, summaryParametersSchema } from "@/common/settings";

/**
 * The chat settings form, read from the public JSON Schema of the zod schemas the server validates
 * with: field types, limits, defaults, labels (`.meta` title) and help (`.meta` description). So a
 * limit changed in the schema changes the form with it.
 */

export type GroupKey = "strategy" | "summaryParameters" | "contextConfig";

export interface FieldDef {
  group: GroupKey;
  key: string;
  label: string;
  help?: string;
  kind: "int" | "number" | "boolean" | "enum" | "text" | "textarea" | "nullable";
  min?: number;
  max?: number;
  maxLength?: number;
  options?: string[];
  step?: number;
  defaultValue: unknown;
}

/** The part of a JSON Schema property the form reads. */
interface JsonProperty {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  enum?: string[];
  anyOf?: JsonProperty[];
}

const propertiesOf = (schema: z.ZodType) => (z.toJSONSchema(schema, { io: "input" }) as { properties: Record<string, JsonProperty> }).properties;

/** Strings that may be this long get a text area. */
const TEXTAREA_FROM_LENGTH = 1000;

function fieldOf(group: GroupKey, key: string, p: JsonProperty): FieldDef {
  const base = { group, key, label: p.title ?? key, help: p.description, defaultValue: p.default };
  const nonNull = p.anyOf?.filter((b) => b.type !== "null");
  if (p.anyOf && nonNull?.length === 1) return { ...base, kind: "nullable", maxLength: nonNull[0]!.maxLength };
  switch (p.type) {
    case "integer":
    case "number": {
      // An int without an upper bound comes out with the largest safe integer as its maximum.
      const max = p.maximum !== undefined && p.maximum < Number.MAX_SAFE_INTEGER ? p.maximum : undefined;
      // Spinner steps of a twentieth for a 0–1 range, a tenth for wider ones.
      const step = p.type === "number" ? ((max ?? Infinity) - (p.minimum ?? -Infinity) <= 1 ? 0.05 : 0.1) : undefined;
      return { ...base, kind: p.type === "integer" ? "int" : "number", min: p.minimum, max, step };
    }
    case "boolean":
      return { ...base, kind: "boolean" };
    default:
      if (p.enum) return { ...base, kind: "enum", options: p.enum };
      return { ...base, kind: (p.maxLength ?? Infinity) >= TEXTAREA_FROM_LENGTH ? "textarea" : "text", maxLength: p.maxLength };
  }
}

function fieldsOf(group: GroupKey, schema: z.ZodType): FieldDef[] {
  return Object.entries(propertiesOf(schema)).map(([key, p]) => fieldOf(group, key, p));
}

/** The form's sections; their names are messages (`settings.groups.<key>`). */
export const GROUPS: { key: GroupKey; fields: FieldDef[] }[] = [
  { key: "strategy", fields: fieldsOf("strategy", strategySchema) },
  { key: "summaryParameters", fields: fieldsOf("summaryParameters", summaryParametersSchema) },
  { key: "contextConfig", fields: fieldsOf("contextConfig", contextConfigSchema) },
];

// sessionInputSchema declares both (settingsForm.test.ts checks their limits).
const sessionProperties = propertiesOf(sessionInputSchema) as Record<"title" | "description", JsonProperty>;
/** The session's own text fields: label and length limit. */
export const aboutFields = {
  title: { label: sessionProperties.title.title ?? "title", maxLength: sessionProperties.title.maxLength },
  description: { label: sessionProperties.description.title ?? "description", maxLength: sessionProperties.description.maxLength },
};

export type FormValues = Record<string, string | boolean>;
export const fieldId = (f: FieldDef) => `${f.group}.${f.key}`;

/** A field's value as the form holds it: text for inputs, a boolean for checkboxes. */
// eslint-disable-next-line @typescript-eslint/no-base-to-string -- settings values are strings, numbers or booleans
const formValue = (f: FieldDef, v: unknown): string | boolean => (f.kind === "boolean" ? Boolean(v) : v === null || v === undefined ? "" : String(v));

export function toForm(session: { title: string; description: string } & Partial<Record<GroupKey, unknown>>): FormValues {
  const values: FormValues = { title: session.title, description: session.description };
  for (const g of GROUPS) {
    const current = (session[g.key] ?? {}) as Record<string, unknown>;
    for (const f of g.fields) values[fieldId(f)] = formValue(f, current[f.key] ?? f.defaultValue);
  }
  return values;
}

/** A group's fields at their defaults. */
export function groupDefaults(g: (typeof GROUPS)[number]): FormValues {
  return Object.fromEntries(g.fields.map((f) => [fieldId(f), formValue(f, f.defaultValue)]));
}

/** Form strings to typed values; what cannot be a number stays a string so zod names the field. */
export function fromForm(values: FormValues) {
  const out: Record<GroupKey, Record<string, unknown>> = { strategy: {}, summaryParameters: {}, contextConfig: {} };
  for (const g of GROUPS) {
    for (const f of g.fields) {
      const v = values[fieldId(f)];
      let typed: unknown = v;
      if (f.kind === "int" || f.kind === "number") typed = typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
      else if (f.kind === "nullable") typed = typeof v === "string" && v.trim() === "" ? null : v;
      out[g.key][f.key] = typed;
    }
  }
  return {
    title: String(values.title),
    description: String(values.description),
    strategy: out.strategy,
    summaryParameters: out.summaryParameters,
    contextConfig: out.contextConfig,
  };
}

/**
 * The words of the hints and issues below: a translator of the `settings` messages. English by
 * default; the panel passes its page's language.
 */
export type Say = (key: `limits.${string}` | `issues.${string}`, values?: Record<string, string | number>) => string;
const englishSettings = createTranslator({ locale: "en", messages: en, namespace: "settings" });
const english: Say = (key, values) => englishSettings(key as never, values as never);

/** zod's issue, in the words a settings form would use. */
export function friendlyIssue(
  issue: { code: string; message: string; maximum?: unknown; minimum?: unknown; expected?: unknown; origin?: unknown },
  say: Say = english,
): string {
  if (issue.code === "too_big") return say(issue.origin === "string" ? "issues.tooLongText" : "issues.tooBig", { max: String(issue.maximum) });
  if (issue.code === "too_small") return say(issue.origin === "string" ? "issues.tooShortText" : "issues.tooSmall", { min: String(issue.minimum) });
  if (issue.code === "invalid_type" && issue.expected === "number") return say("issues.number");
  if (issue.code === "invalid_type" && issue.expected === "int") return say("issues.int");
  return issue.message;
}

/** The hint under a field: its range or length limit and its default. */
export function limitText(f: FieldDef, say: Say = english): string {
  const parts: string[] = [];
  if (f.kind === "int" || f.kind === "number") {
    if (f.min !== undefined && f.max !== undefined) parts.push(say("limits.range", { min: f.min, max: f.max }));
    else if (f.min !== undefined) parts.push(say("limits.atLeast", { min: f.min }));
  }
  if ((f.kind === "text" || f.kind === "textarea" || f.kind === "nullable") && f.maxLength) parts.push(say("limits.maxChars", { max: f.maxLength }));
  const d = f.defaultValue;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- defaults are strings, numbers or booleans
  const value = d === null ? say("limits.none") : d === "" ? say("limits.empty") : typeof d === "boolean" ? say(d ? "limits.on" : "limits.off") : String(d);
  parts.push(say("limits.default", { value }));
  return parts.join(" · ");
}
