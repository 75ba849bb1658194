#include "pg/memory.hpp"

namespace nextcrm::pg {

void *palloc(Size size) {
    return pg_call([size] { return ::palloc(size); });
}

void *palloc0(Size size) {
    return pg_call([size] { return ::palloc0(size); });
}

char *pstrdup(const char *s) {
    return pg_call([s] { return ::pstrdup(s); });
}

char *pnstrdup(std::string_view s) {
    const char *data = s.data();
    Size len = s.size();
    return pg_call([data, len] { return ::pnstrdup(data, len); });
}

void pfree(void *pointer) {
    pg_call([pointer] { ::pfree(pointer); });
}

MemoryContext create_memory_context(MemoryContext parent, const char *name, bool small) {
    // AllocSetContextCreate() is a macro that insists on a literal name; the
    // function behind it takes the caller's, which must live as long.
    return pg_call([parent, name, small] {
        return small ? AllocSetContextCreateInternal(parent, name, ALLOCSET_SMALL_SIZES)
                     : AllocSetContextCreateInternal(parent, name, ALLOCSET_DEFAULT_SIZES);
    });
}

// Switching cannot fail; it is here so that code that switches contexts
// reads as one family with the calls around it.
MemoryContext MemoryContextSwitchTo(MemoryContext context) {
    return ::MemoryContextSwitchTo(context);
}

void MemoryContextReset(MemoryContext context) {
    pg_call([context] { ::MemoryContextReset(context); });
}

void MemoryContextDelete(MemoryContext context) {
    pg_call([context] { ::MemoryContextDelete(context); });
}

void *MemoryContextAllocZero(MemoryContext context, Size size) {
    return pg_call([context, size] { return ::MemoryContextAllocZero(context, size); });
}

void MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback *callback) {
    pg_call([context, callback] { ::MemoryContextRegisterResetCallback(context, callback); });
}

} // namespace nextcrm::pg
