-- Full-text search indexes: GIN over to_tsvector('simple', ...) expressions.
-- Prisma's schema language cannot express expression indexes, so they live
-- in this hand-written migration after the generated one.
--
-- 'simple' because the data mixes languages (cz, en, de, uk): it lower-cases
-- and splits words without language-specific stemming or stop words.
--
-- The planner uses an index only for a query whose expression is the index's
-- expression, so search with exactly these forms (data/nextcrm/README.md
-- lists them), e.g.
--   WHERE to_tsvector('simple', coalesce("title", '') || ' ' || coalesce("content", ''))
--         @@ plainto_tsquery('simple', 'quarterly report')

-- array_to_string() is only STABLE (it is polymorphic, and some element types
-- print differently under different settings), so an index expression cannot
-- call it.  For text[] the result depends on nothing but the input, which
-- makes this wrapper truly IMMUTABLE.
CREATE FUNCTION "nextcrm_text_array_to_string"(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(array_to_string($1, ' '), '');

-- CreateIndex
CREATE INDEX "crm_Accounts_fts_idx" ON "crm_Accounts" USING GIN (
    to_tsvector('simple', coalesce("name", '')));

-- CreateIndex
CREATE INDEX "crm_Contacts_fts_idx" ON "crm_Contacts" USING GIN (
    to_tsvector('simple', coalesce("first_name", '') || ' ' || coalesce("last_name", '')
        || ' ' || "nextcrm_text_array_to_string"("notes")));

-- CreateIndex
CREATE INDEX "crm_Leads_fts_idx" ON "crm_Leads" USING GIN (
    to_tsvector('simple', coalesce("firstName", '') || ' ' || coalesce("lastName", '')
        || ' ' || coalesce("company", '')));

-- CreateIndex
CREATE INDEX "crm_Opportunities_fts_idx" ON "crm_Opportunities" USING GIN (
    to_tsvector('simple', coalesce("name", '') || ' ' || coalesce("description", '')));

-- CreateIndex
CREATE INDEX "Tasks_fts_idx" ON "Tasks" USING GIN (
    to_tsvector('simple', coalesce("title", '') || ' ' || coalesce("content", '')));

-- CreateIndex
CREATE INDEX "crm_Accounts_Tasks_fts_idx" ON "crm_Accounts_Tasks" USING GIN (
    to_tsvector('simple', coalesce("title", '') || ' ' || coalesce("content", '')));

-- CreateIndex
CREATE INDEX "Documents_fts_idx" ON "Documents" USING GIN (
    to_tsvector('simple', coalesce("document_name", '') || ' ' || coalesce("description", '')));

-- CreateIndex
CREATE INDEX "Invoices_fts_idx" ON "Invoices" USING GIN (
    to_tsvector('simple', coalesce("invoice_number", '') || ' ' || coalesce("partner", '')
        || ' ' || coalesce("description", '')));
