// Type-checks a copy of a NextCRM (MongoDB-era) application against a
// Prisma Client generated from this project's prisma/schema.prisma and
// prints every call site that must change, with the change it needs.
// Driven by scripts/check-app, which makes the copy and generates the client.
//
// usage: node check-app.cjs APP_COPY CLIENT_DIR PRISMA_CLIENT_PKG SCHEMA MAPPING_CSV
//   APP_COPY           the throwaway copy of the application
//   CLIENT_DIR         the client generated from SCHEMA (its index.d.ts)
//   PRISMA_CLIENT_PKG  @prisma/client's directory (runtime types the client imports)
//   SCHEMA             prisma/schema.prisma
//   MAPPING_CSV        profiles/nextcrm/mapping.csv
//
// Prints one line per site, "FILE:LINE: KIND: what to write instead", FILE
// relative to APP_COPY, sorted; then "N incompatible call sites".  Exit
// status 1 when there is any, 2 when the check itself could not run.
//
// Kinds:
//   m-n relation       a removed id-list field (accountsIDs, watchers, …):
//                      its content is a join table now, read and written
//                      through the relation field
//   loose reference    createdBy/updatedBy/… set as a scalar in a write that
//                      also writes a relation: the reference is a relation
//                      (<scalar>_ref) now, so it is written with connect
//   crm-task comment   tasksComments.task used for a CRM task: CRM-task
//                      comments are in assigned_crm_account_task
//   type error         anything else the compiler rejects (message shown)
"use strict";
const fs = require("fs");
const path = require("path");

const [appDir, clientDir, clientPkg, schemaFile, mappingFile] = process.argv.slice(2);
if (!mappingFile) {
  console.error("usage: check-app.cjs APP_COPY CLIENT_DIR PRISMA_CLIENT_PKG SCHEMA MAPPING_CSV");
  process.exit(2);
}
const ts = require("typescript");

// --- What changed, read from the schema and the mapping ----------------------

// model -> field -> { type, relation } for every field of schema.prisma.
function readSchema(text) {
  const models = new Map();
  let current = null;
  for (const line of text.split("\n")) {
    const open = line.match(/^model\s+(\w+)\s*\{/);
    if (open) {
      current = new Map();
      models.set(open[1], current);
      continue;
    }
    if (/^\}/.test(line)) {
      current = null;
      continue;
    }
    const f = current && line.match(/^\s+(\w+)\s+(\w+)(\[\]|\?)?(?:\s+(.*))?$/);
    if (f) {
      const rel = (f[4] || "").match(/@relation\("(\w+)"/);
      current.set(f[1], { type: f[2], list: f[3] === "[]", relation: rel ? rel[1] : null,
                          owner: /@relation\([^)]*\bfields:/.test(f[4] || "") });
    }
  }
  return models;
}
const models = readSchema(fs.readFileSync(schemaFile, "utf8"));

// model -> removed id-list field -> the relation field that replaces it
// (mapping.csv kind "junction": the join table "_X" is relation "X").
const removedLists = new Map();
{
  const [header, ...rows] = fs.readFileSync(mappingFile, "utf8").trim().split("\n");
  const col = Object.fromEntries(header.split(",").map((name, i) => [name.trim(), i]));
  for (const row of rows) {
    const c = row.split(",");
    if (c[col.kind] !== "junction") continue;
    const model = c[col.model];
    const relationName = c[col.target_table].replace(/^_/, "");
    const fields = models.get(model) || new Map();
    const field = [...fields].find(([, f]) => f.list && f.relation === relationName);
    if (!removedLists.has(model)) removedLists.set(model, new Map());
    removedLists.get(model).set(c[col.field], field ? field[0] : `(${relationName})`);
  }
}

// model -> set of scalars that have a "<scalar>_ref" relation.
const looseRefs = new Map();
for (const [model, fields] of models) {
  const set = new Set();
  for (const [name] of fields) if (fields.has(`${name}_ref`)) set.add(name);
  if (set.size) looseRefs.set(model, set);
}

// The Prisma model whose generated input type names start the type name
// (crm_Accounts_TasksWhereInput -> crm_Accounts_Tasks): the longest match.
function modelOfType(typeName) {
  let best = null;
  for (const m of models.keys())
    if (typeName.startsWith(m) && /^[A-Z]/.test(typeName.slice(m.length)) &&
        (!best || m.length > best.length))
      best = m;
  return best;
}

// --- The program ----------------------------------------------------------------

function compilerOptions() {
  const configPath = ts.findConfigFile(appDir, ts.sys.fileExists, "tsconfig.json");
  let options = {}, fileNames = [];
  if (configPath && path.dirname(configPath) === path.resolve(appDir)) {
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(read.config || {}, ts.sys, appDir);
    const errors = [read.error, ...parsed.errors].filter(Boolean);
    if (errors.length) {
      for (const e of errors)
        console.error(`check-app: tsconfig.json: ${ts.flattenDiagnosticMessageText(e.messageText, " ")}`);
      process.exit(2);
    }
    options = parsed.options;
    fileNames = parsed.fileNames;
  } else {
    fileNames = ts.sys.readDirectory(appDir, [".ts", ".tsx"], ["node_modules"]);
    options = { strict: true, jsx: ts.JsxEmit.Preserve, esModuleInterop: true };
  }
  const paths = { ...(options.paths || {}) };
  paths["@prisma/client"] = [path.resolve(clientDir)];
  paths["@prisma/client/*"] = [path.join(path.resolve(clientPkg), "*")];
  return {
    fileNames,
    options: {
      ...options,
      noEmit: true,
      incremental: false,
      composite: false,
      tsBuildInfoFile: undefined,
      skipLibCheck: true,
      baseUrl: options.baseUrl || path.resolve(appDir),
      paths,
      target: options.target ?? ts.ScriptTarget.ES2020,
      moduleResolution: options.moduleResolution ?? ts.ModuleResolutionKind.Node10,
    },
  };
}

const { fileNames, options } = compilerOptions();
const program = ts.createProgram(fileNames, options);
const appRoot = path.resolve(appDir) + path.sep;
const isAppFile = (sf) =>
  path.resolve(sf.fileName).startsWith(appRoot) && !sf.fileName.includes("/node_modules/") &&
  !sf.isDeclarationFile;

const sites = new Map(); // "file:line" -> "kind: advice"
function report(sf, pos, kind, advice) {
  const line = sf.getLineAndCharacterOfPosition(pos).line + 1;
  const key = `${path.relative(appDir, sf.fileName)}:${line}`;
  if (!sites.has(key)) sites.set(key, `${kind}: ${advice}`);
}

function nodeAt(sf, pos) {
  let found = sf;
  (function visit(node) {
    if (pos >= node.getStart(sf) && pos < node.getEnd()) {
      found = node;
      ts.forEachChild(node, visit);
    }
  })(sf);
  return found;
}

const propName = (p) => (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : null);

// The properties of an object literal, including those of object literals
// spread into it (also through `cond ? {…} : {}`).
function properties(obj) {
  const out = [];
  for (const p of obj.properties) {
    if (ts.isSpreadAssignment(p)) {
      let e = p.expression;
      while (ts.isParenthesizedExpression(e)) e = e.expression;
      const branches = ts.isConditionalExpression(e) ? [e.whenTrue, e.whenFalse] : [e];
      for (let b of branches) {
        while (ts.isParenthesizedExpression(b)) b = b.expression;
        if (ts.isObjectLiteralExpression(b)) out.push(...properties(b));
      }
    } else out.push(p);
  }
  return out;
}

// Prisma Client names a model's delegate with its first letter lowered
// (prisma.users for model Users).
const delegates = new Map([...models.keys()].map((m) => [m[0].toLowerCase() + m.slice(1), m]));

// `<anything>.<delegate>.<method>(arg)`: the model and the argument object.
function prismaCall(node) {
  for (let n = node; n; n = n.parent) {
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) &&
        ts.isPropertyAccessExpression(n.expression.expression)) {
      const model = delegates.get(n.expression.expression.name.text);
      const arg = n.arguments[0];
      if (model && arg && ts.isObjectLiteralExpression(arg))
        return { model, method: n.expression.name.text, arg };
    }
  }
  return null;
}

const RELATION_WRITE = new Set(["connect", "create", "connectOrCreate", "disconnect", "set",
  "upsert", "update", "delete", "createMany", "updateMany", "deleteMany"]);
function isRelationWrite(p) {
  return ts.isPropertyAssignment(p) && ts.isObjectLiteralExpression(p.initializer) &&
    p.initializer.properties.some((q) => RELATION_WRITE.has(propName(q)));
}

// A write whose data sets a loose reference as a scalar and also writes a
// relation whose foreign key this model holds: no Prisma input type takes
// both (the unchecked input has the scalar, the checked one that relation),
// whatever the values' types, so the call is reported even when the values
// are `any`.  True when reported.
function reportLooseRefs(sf, call) {
  if (!looseRefs.has(call.model)) return false;
  const fields = models.get(call.model);
  for (const data of dataObjects(call.arg)) {
    const props = properties(data);
    const loose = props.filter((p) => looseRefs.get(call.model).has(propName(p)));
    const owning = props.some((p) => isRelationWrite(p) && fields.get(propName(p))?.owner);
    if (loose.length && owning) {
      const advice = loose.map((p) => {
        const v = ts.isPropertyAssignment(p) ? p.initializer.getText() : propName(p);
        return `${propName(p)}: ${v} -> ${propName(p)}_ref: { connect: { id: ${v} } }`;
      }).join("; ");
      report(sf, loose[0].getStart(sf), "loose reference", advice);
      return true;
    }
  }
  return false;
}

// A write's data objects: data, and an upsert's create/update.
function dataObjects(arg) {
  const out = [];
  for (const p of arg.properties) {
    const n = propName(p);
    if (["data", "create", "update"].includes(n) && ts.isPropertyAssignment(p) &&
        ts.isObjectLiteralExpression(p.initializer))
      out.push(p.initializer);
  }
  return out;
}

function removedListAdvice(model, field, prop) {
  const relation = removedLists.get(model).get(field);
  const text = prop && ts.isPropertyAssignment(prop) ? prop.initializer.getText() : "";
  if (/\bhas\s*:/.test(text)) return `${field}: { has: id } -> ${relation}: { some: { id } }`;
  if (/\bhasSome\s*:/.test(text)) return `${field}: { hasSome: ids } -> ${relation}: { some: { id: { in: ids } } }`;
  if (/\bhasEvery\s*:/.test(text)) return `${field}: { hasEvery: ids } -> one ${relation}: { some: { id } } per id, combined with AND`;
  if (/\bpush\s*:/.test(text)) return `${field}: { push: id } -> ${relation}: { connect: { id } }`;
  if (/\bisEmpty\s*:/.test(text)) return `${field}: { isEmpty: true } -> ${relation}: { none: {} }`;
  return `${field} is the join table of ${model}.${relation} now: read and write it through ${relation} (some/every/none, connect/disconnect/set)`;
}

function classify(sf, diag) {
  const message = ts.flattenDiagnosticMessageText(diag.messageText, "\n");
  const node = nodeAt(sf, diag.start);
  const call = prismaCall(node);

  // A removed id-list field.
  const missing = message.match(/'(\w+)' does not exist in type '(\w+)'/);
  if (missing) {
    const model = modelOfType(missing[2]);
    if (model && removedLists.get(model)?.has(missing[1])) {
      let prop = node;
      while (prop && !ts.isPropertyAssignment(prop) && !ts.isShorthandPropertyAssignment(prop)) prop = prop.parent;
      return report(sf, diag.start, "m-n relation", removedListAdvice(model, missing[1], prop));
    }
  }
  // The same field inside a write's data, reported against the whole input
  // type (Prisma's XOR of checked and unchecked inputs).
  if (call && removedLists.has(call.model)) {
    let found = null;
    (function find(n) {
      if (found) return;
      if (ts.isPropertyAssignment(n) && removedLists.get(call.model).has(propName(n))) found = n;
      else ts.forEachChild(n, find);
    })(call.arg);
    if (found)
      return report(sf, found.getStart(sf), "m-n relation",
        removedListAdvice(call.model, propName(found), found));
  }

  // A loose reference written as a scalar beside a relation write.
  if (call && reportLooseRefs(sf, call)) return;
  // Other errors count when they involve Prisma: inside a Prisma call, or
  // naming a model or a generated type.  The rest are the application's own
  // (or come from dependencies that are not installed) and are only counted.
  // "Cannot find name 'process'" and the like: missing @types, not Prisma.
  const missingName = [2304, 2580, 2591].includes(diag.code);
  if (!missingName && (call || prismaTypes.test(message)))
    return report(sf, diag.start, "type error", message.split("\n").pop().trim());
  unrelated++;
}
const prismaTypes = new RegExp(
  `\\b(Prisma|${[...models.keys()].join("|")})(\\b|[A-Z])|(WhereInput|CreateInput|UpdateInput|GetPayload)\\b`);
let unrelated = 0;

const unresolved = new Set();
let diagnostics;
try {
  diagnostics = ts.getPreEmitDiagnostics(program);
} catch (e) {
  console.error(`check-app: the TypeScript check failed: ${e.message}`);
  process.exit(2);
}
for (const diag of diagnostics) {
  if (diag.category !== ts.DiagnosticCategory.Error) continue;
  if (!diag.file) {
    console.error(`check-app: ${ts.flattenDiagnosticMessageText(diag.messageText, " ")}`);
    process.exit(2);
  }
  if (!isAppFile(diag.file)) continue;
  // A package the copy cannot resolve (the application's dependencies are
  // not installed): its imports are `any`, which hides nothing Prisma-typed.
  const text = ts.flattenDiagnosticMessageText(diag.messageText, " ");
  const pkg = (diag.code === 2307 || diag.code === 7016) && text.match(/module '([^'.][^']*)'/);
  if (pkg && !pkg[1].startsWith("@prisma/client")) {
    unresolved.add(pkg[1]);
    continue;
  }
  classify(diag.file, diag);
}

// Loose references beside a relation write, also where the values are
// untyped (`any` passes the type check).
for (const sf of program.getSourceFiles()) {
  if (!isAppFile(sf)) continue;
  (function visit(node) {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) &&
        ["create", "update", "upsert"].includes(node.expression.name.text)) {
      const call = prismaCall(node);
      if (call && call.arg === node.arguments[0]) reportLooseRefs(sf, call);
    }
    ts.forEachChild(node, visit);
  })(sf);
}

// CRM-task comments type-check (task is a uuid column either way), so they
// are found by shape: a tasksComments call that sets or filters `task` in a
// file that deals with CRM tasks (names crm_Accounts_Tasks, or lies under a
// crm/ directory).
// A function called from such a file whose body makes that call (a helper
// shared with project tasks, like a getTaskComments(taskId)) is reported too.
function reportTaskComments(root, sf, shared) {
  (function visit(node) {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) &&
        ts.isPropertyAccessExpression(node.expression.expression) &&
        node.expression.expression.name.text === "tasksComments") {
      const arg = node.arguments[0];
      if (arg && ts.isObjectLiteralExpression(arg))
        for (const part of arg.properties) {
          if (!["data", "where"].includes(propName(part)) || !ts.isPropertyAssignment(part) ||
              !ts.isObjectLiteralExpression(part.initializer)) continue;
          for (const p of properties(part.initializer))
            if (propName(p) === "task")
              report(sf, p.getStart(sf), "crm-task comment", shared && propName(part) === "where"
                ? "where: { task: id } -> where: { OR: [{ task: id }, { assigned_crm_account_task: id }] } (called for CRM tasks too; a CRM task's comments are in assigned_crm_account_task)"
                : `${propName(part)}: { task: … } -> ${propName(part)}: { assigned_crm_account_task: … } (a CRM task's comments are in assigned_crm_account_task)`);
        }
    }
    ts.forEachChild(node, visit);
  })(root);
}
const checker = program.getTypeChecker();
for (const sf of program.getSourceFiles()) {
  if (!isAppFile(sf)) continue;
  const rel = path.relative(appDir, sf.fileName);
  const crmFile = /crm_Accounts_Tasks/.test(sf.text) || rel.split(path.sep).includes("crm");
  if (!crmFile) continue;
  reportTaskComments(sf, sf, false);
  (function calls(node) {
    if (ts.isCallExpression(node)) {
      let sym = checker.getSymbolAtLocation(
        ts.isPropertyAccessExpression(node.expression) ? node.expression.name : node.expression);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      for (const decl of sym?.declarations || []) {
        const dsf = decl.getSourceFile();
        if (dsf !== sf && isAppFile(dsf)) reportTaskComments(decl, dsf, true);
      }
    }
    ts.forEachChild(node, calls);
  })(sf);
}

const keys = [...sites.keys()].sort((a, b) => {
  const [fa, la] = [a.replace(/:\d+$/, ""), +a.match(/(\d+)$/)[1]];
  const [fb, lb] = [b.replace(/:\d+$/, ""), +b.match(/(\d+)$/)[1]];
  return fa < fb ? -1 : fa > fb ? 1 : la - lb;
});
for (const k of keys) console.log(`${k}: ${sites.get(k)}`);
if (unresolved.size)
  console.log(`note: ${unresolved.size} packages not installed were treated as any ` +
    `(${[...unresolved].sort().slice(0, 5).join(", ")}${unresolved.size > 5 ? ", …" : ""}); ` +
    "install the application's dependencies for a complete check");
if (unrelated)
  console.log(`note: ${unrelated} type errors that involve no Prisma call or type were not counted`);
console.log(`${keys.length} incompatible call sites`);
process.exit(keys.length ? 1 : 0);
