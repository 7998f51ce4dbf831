// TypeDoc plugin (typedoc.json "plugin"): files each export of the API reference under the area of
// src/ it is defined in (src/kernel/ -> "Kernel"...), so the reference reads by concept, like the
// layout of src/, instead of as one alphabetical list. An @category tag in a comment still wins.
// A file in no listed area is a warning, so a build of the reference fails until it gets one.
import { relative } from "node:path";
import { Comment, CommentTag, Converter } from "typedoc";

/** Path prefixes under src/, most specific first, and the area each belongs to. */
const AREAS = [
  ["src/schemas.ts", "Actions and decisions"],
  ["src/violation-details.ts", "Actions and decisions"],
  ["src/kernel/", "Kernel"],
  ["src/sql/", "Kernel"],
  ["src/engines/", "Engines"],
  ["src/bundle-service/", "Bundle service"],
  ["src/testing/", "Testing policies"],
  ["src/runner/", "Runner"],
  ["src/reward/", "Reward shaping"],
  ["src/env/", "Environment"],
  ["src/gym/", "Environment"],
  ["src/audit/", "Audit trail"],
  ["src/decision-log/", "Decision logs"],
  ["src/errors.ts", "Errors"],
  ["src/canonical-json.ts", "Utilities"],
];

function areaOf(path) {
  const found = AREAS.find(([prefix]) => path === prefix || (prefix.endsWith("/") && path.startsWith(prefix)));
  return found?.[1];
}

function hasCategory(comment) {
  return comment?.blockTags.some((tag) => tag.tag === "@category") ?? false;
}

/** Entry point TypeDoc calls for a plugin. */
export function load(app) {
  // Before the CategoryPlugin (priority -200) groups the children by their @category tags.
  // The defining file comes from the TypeScript symbol, not from `sources`: source links are
  // disabled (typedoc.json), and the area must not depend on them.
  const files = new Map();
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    if (file !== undefined) files.set(reflection.id, relative(process.cwd(), file).replaceAll("\\", "/"));
  });
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    for (const child of context.project.children ?? []) {
      // Functions carry their comment on the signature.
      const comment = child.comment ?? child.signatures?.[0]?.comment;
      if (hasCategory(comment)) continue;
      const fileName = files.get(child.id) ?? "";
      // Declarations from outside src/ (a dependency's type) are not ours to file.
      if (!fileName.startsWith("src/")) continue;
      const area = areaOf(fileName);
      if (area === undefined) {
        app.logger.warn(`${child.name} (${fileName}) is in no area of the API reference: add its path to AREAS in typedoc-areas.mjs`);
        continue;
      }
      const tag = new CommentTag("@category", [{ kind: "text", text: area }]);
      if (comment) comment.blockTags.push(tag);
      else child.comment = new Comment([], [tag]);
    }
  }, 0);
}
