import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { ONCE } from "../../schemas.js";
import { PolicyKernelError, errorMessage, fromZodError } from "../../errors.js";
import { assertNoJsonHazard, parseUntrustedJson } from "../../safe-json.js";
import { InputBindingSchema, type InputBinding } from "./schema.js";

/** Largest binding file read (1 MiB): a binding is a page of templates, not data. */
export const MAX_BINDING_FILE_BYTES = 1024 * 1024;

/**
 * Reads and validates an input binding file (`.json`, or YAML for any other extension). Errors
 * name the file and the field: unknown keys, forbidden keys, nesting, duplicate `when`s.
 */
export function loadInputBinding(file: string): InputBinding {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_BINDING_FILE_BYTES) {
      throw new PolicyKernelError("invalid_config", `binding file is ${size} bytes`, { file, expected: `at most ${MAX_BINDING_FILE_BYTES} bytes` });
    }
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof PolicyKernelError) throw error;
    throw new PolicyKernelError("io_error", `cannot read the binding file (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`, { file, expected: "a readable YAML or JSON file" });
  }
  let raw: unknown;
  if (extname(file).toLowerCase() === ".json") raw = parseUntrustedJson(text, "invalid_config", file);
  else {
    try {
      // Aliases are expanded into copies: a few of them cap "billion laughs" documents.
      raw = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true });
    } catch (error) {
      throw new PolicyKernelError("invalid_config", `invalid YAML (${errorMessage(error).split("\n")[0]})`, { file, expected: "a YAML document" }, { cause: error });
    }
    assertNoJsonHazard(raw, "invalid_config", { file });
  }
  return parseInputBinding(raw, file);
}

/** Validates an input binding already parsed (from a file named `file`, for messages); the result is frozen. */
export function parseInputBinding(raw: unknown, file?: string): InputBinding {
  assertNoJsonHazard(raw, "invalid_config", { file });
  const result = InputBindingSchema.safeParse(raw, ONCE);
  if (!result.success) throw fromZodError("invalid_config", result.error, { file });
  return deepFreeze(result.data);
}

// bindInput indexes a binding once (a WeakMap keyed by it): a loaded binding must not change after.
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
