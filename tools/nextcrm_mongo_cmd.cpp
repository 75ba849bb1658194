// nextcrm_mongo_cmd: runs one database command, given as (Extended) JSON,
// against a MongoDB-compatible server and prints the reply.  The tests use it
// to change source data between migration runs.
//
//   nextcrm_mongo_cmd URI DATABASE '{"update": "Users", "updates": [...]}'
#include <mongoc/mongoc.h>

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s URI DATABASE COMMAND-JSON\n", argv[0]);
        return 2;
    }
    mongoc_init();
    int status = 1;
    bson_error_t err;
    bson_t *cmd = bson_new_from_json(reinterpret_cast<const uint8_t *>(argv[3]),
                                     static_cast<ssize_t>(std::strlen(argv[3])), &err);
    mongoc_client_t *client = mongoc_client_new(argv[1]);
    if (!cmd) {
        std::fprintf(stderr, "nextcrm_mongo_cmd: invalid JSON: %s\n", err.message);
    } else if (!client) {
        std::fprintf(stderr, "nextcrm_mongo_cmd: invalid URI %s\n", argv[1]);
    } else {
        bson_t reply;
        if (mongoc_client_command_simple(client, argv[2], cmd, nullptr, &reply, &err)) {
            char *json = bson_as_relaxed_extended_json(&reply, nullptr);
            std::printf("%s\n", json);
            bson_free(json);
            status = 0;
        } else {
            std::fprintf(stderr, "nextcrm_mongo_cmd: %s\n", err.message);
        }
        bson_destroy(&reply);
    }
    if (client)
        mongoc_client_destroy(client);
    if (cmd)
        bson_destroy(cmd);
    mongoc_cleanup();
    return status;
}
