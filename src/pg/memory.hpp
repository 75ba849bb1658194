// Memory contexts and allocation (utils/palloc.h, utils/memutils.h), each
// call behind the wall: an out-of-memory ERROR becomes PgException.
#pragma once

#include "pg_wall.hpp"

#include <string_view>

namespace nextcrm::pg {

void *palloc(Size size);
void *palloc0(Size size);
char *pstrdup(const char *s);
// A NUL-terminated palloc'd copy of s (which may hold no NUL).
char *pnstrdup(std::string_view s);
void pfree(void *pointer);

// AllocSetContextCreate() under parent with the small sizes (a context that
// holds a few objects) or the default ones (a context rows go through).
// name is kept, not copied: pass a string literal.
MemoryContext create_memory_context(MemoryContext parent, const char *name, bool small);
MemoryContext MemoryContextSwitchTo(MemoryContext context);
void MemoryContextReset(MemoryContext context);
void MemoryContextDelete(MemoryContext context);
void *MemoryContextAllocZero(MemoryContext context, Size size);
// callback (with its arg) runs when context is reset or deleted; it must
// live in context or longer.
void MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback *callback);

} // namespace nextcrm::pg
