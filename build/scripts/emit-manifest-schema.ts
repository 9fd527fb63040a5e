/**
 * Writes the model manifest's JSON Schema, converted from the engine's zod schema
 * (common/models/manifest.ts), to the Python tools' data folder, so the Python exporters check
 * manifests against the very rules the studio loads them with.
 *
 *   npx tsx build/scripts/emit-manifest-schema.ts           write the file
 *   npx tsx build/scripts/emit-manifest-schema.ts --check   exit 1 when the committed file is stale
 *
 * `--schema PATH` names another file to write or check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ModelManifest } from '../../common/models/manifest';

const committedSchemaFile = fileURLToPath(new URL('../../models/tools/src/studio_tools/data/manifest.schema.json', import.meta.url));

function parseOptions(): { check: boolean; schema: string } {
  try {
    return parseArgs({
      options: { check: { type: 'boolean', default: false }, schema: { type: 'string', default: committedSchemaFile } },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: npx tsx build/scripts/emit-manifest-schema.ts [--check] [--schema PATH]`);
    process.exit(2);
  }
}

const options = parseOptions();
const schemaFile = options.schema;

function manifestSchemaText(): string {
  // "input": the shape a manifest.json must have on disk (no defaults filled in, no transforms applied).
  const schema = z.toJSONSchema(ModelManifest, { io: 'input', unrepresentable: 'throw' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}

function committedText(): string | null {
  try {
    return readFileSync(schemaFile, 'utf8');
  } catch {
    return null;
  }
}

const wanted = manifestSchemaText();
if (options.check) {
  if (committedText() !== wanted) {
    console.error(
      `${schemaFile} does not match common/models/manifest.ts; run \`npx tsx build/scripts/emit-manifest-schema.ts\` and commit the result.`,
    );
    process.exit(1);
  }
  console.log(`${schemaFile} is up to date.`);
} else {
  writeFileSync(schemaFile, wanted);
  console.log(`wrote ${schemaFile}`);
}
