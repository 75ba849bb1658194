#include "fdw_table.hpp"
#include "pg/foreign.hpp"
#include "pg/lsyscache.hpp"
#include "pg/relations.hpp"

#include "connection.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace nextcrm {

namespace {

bool target_of(Oid type, int32 typmod, Target &out, bool &json_text) {
    json_text = false;
    switch (type) {
    case TEXTOID:
        out = Target::Text;
        return true;
    case VARCHAROID:
        out = Target::Text;
        return typmod < 0; // varchar(n) checks its length in its input function
    case INT2OID:
        out = Target::Int2;
        return true;
    case INT4OID:
        out = Target::Int4;
        return true;
    case INT8OID:
        out = Target::Int8;
        return true;
    case FLOAT4OID:
        out = Target::Float4;
        return true;
    case FLOAT8OID:
        out = Target::Float8;
        return true;
    case NUMERICOID:
        out = Target::Numeric;
        return true;
    case BOOLOID:
        out = Target::Bool;
        return true;
    case TIMESTAMPOID:
    case TIMESTAMPTZOID:
        out = Target::Timestamp;
        return true;
    case DATEOID:
        out = Target::Date;
        return true;
    case BYTEAOID:
        out = Target::Bytea;
        return true;
    case UUIDOID:
        out = Target::Uuid;
        return true;
    case JSONOID:
        json_text = true;
        out = Target::Json;
        return true;
    case JSONBOID:
        out = Target::Json;
        return true;
    default:
        return false;
    }
}

std::string def_string(DefElem *def) {
    return pg::defGetString(def);
}

} // namespace

TableSpec load_table_spec(Oid relid, bool with_source, Oid userid) {
    TableSpec spec;
    spec.relid = relid;
    spec.userid = userid;
    ForeignTable *ft = pg::GetForeignTable(relid);
    spec.serverid = ft->serverid;
    spec.relname = pg::get_rel_name(relid);
    spec.collection = spec.relname;
    std::string database, batch_size, uuid_representation;
    ListCell *lc;
    foreach (lc, ft->options) {
        auto *def = static_cast<DefElem *>(lfirst(lc));
        if (strcmp(def->defname, "collection") == 0)
            spec.collection = def_string(def);
        else if (strcmp(def->defname, "database") == 0)
            database = def_string(def);
        else if (strcmp(def->defname, "batch_size") == 0)
            batch_size = def_string(def);
        else if (strcmp(def->defname, "uuid_representation") == 0)
            uuid_representation = def_string(def);
    }
    if (with_source) {
        spec.source = source_options(ft->serverid, userid);
        if (!database.empty())
            spec.source.database = database;
        if (!batch_size.empty())
            spec.source.set("batch_size", batch_size);
    } else {
        ForeignServer *server = pg::GetForeignServer(ft->serverid);
        foreach (lc, server->options) {
            auto *def = static_cast<DefElem *>(lfirst(lc));
            if (strcmp(def->defname, "dump_dir") == 0)
                spec.source.dump_dir = def_string(def);
            else if (strcmp(def->defname, "archive") == 0)
                spec.source.archive = def_string(def);
            else if (strcmp(def->defname, "uuid_representation") == 0)
                spec.source.uuid_representation = def_string(def);
        }
    }
    if (uuid_representation.empty())
        uuid_representation = spec.source.uuid_representation;

    Relation rel = pg::table_open(relid, NoLock);
    TupleDesc desc = RelationGetDescr(rel);
    spec.columns.resize(desc->natts);
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        ColumnSpec &col = spec.columns[i];
        col.attnum = att->attnum;
        if (att->attisdropped)
            continue;
        col.name = NameStr(att->attname);
        col.field = col.name;
        col.type = att->atttypid;
        col.typmod = att->atttypmod;
        Oid type = col.type;
        int32 typmod = col.typmod;
        col.type_name = pg::format_type_with_typemod(type, typmod);
        bool document = false;
        std::string column_uuid = uuid_representation;
        AttrNumber attnum = att->attnum;
        List *options = pg::GetForeignColumnOptions(relid, attnum);
        ListCell *oc;
        foreach (oc, options) {
            auto *def = static_cast<DefElem *>(lfirst(oc));
            if (strcmp(def->defname, "field") == 0)
                col.field = def_string(def);
            else if (strcmp(def->defname, "document") == 0)
                document = def_string(def) == "true";
            else if (strcmp(def->defname, "uuid_representation") == 0)
                column_uuid = def_string(def);
        }
        col.uuid_representation =
            parse_uuid_representation(column_uuid).value_or(UuidRepresentation::Unspecified);
        col.dotted = col.field.find('.') != std::string::npos;
        col.is_id = col.field == "_id";
        Oid elem = pg::get_element_type(type);
        if (document) {
            if (type != JSONBOID && type != JSONOID) {
                pg::table_close(rel, NoLock);
                throw Error(Message(NEXTCRM_MSG("column \"%s\" has option document 'true' but "
                                                "type %s"),
                                    col.name, col.type_name),
                            sqlstate::datatype_mismatch, {},
                            "A whole-document column must be jsonb or json.");
            }
            col.kind = ColumnSpec::Kind::Document;
            col.target = Target::Json;
            col.json_text = type == JSONOID;
        } else if (target_of(type, typmod, col.target, col.json_text)) {
            col.kind = ColumnSpec::Kind::Scalar;
        } else if (OidIsValid(elem) && target_of(elem, typmod, col.target, col.json_text)) {
            col.kind = ColumnSpec::Kind::Array;
            col.elem_type = elem;
            pg::TypeStorage storage = pg::typlenbyvalalign(elem);
            col.elem_len = storage.len;
            col.elem_byval = storage.byval;
            col.elem_align = storage.align;
        } else {
            col.kind = ColumnSpec::Kind::Input;
            Oid func, ioparam;
            pg::getTypeInputInfo(type, &func, &ioparam);
            col.input_func = func;
            col.input_ioparam = ioparam;
        }
    }
    pg::table_close(rel, NoLock);
    return spec;
}

} // namespace nextcrm
