/**
 * The Agentry API's paths, operations and schemas as TypeScript types, generated from its OpenAPI
 * document by openapi-typescript. Do not edit: `npm run client:types` writes it (a unit test fails
 * when it is stale).
 */
export interface paths {
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness as `{"status":"ok"}`, or 503 `{"status":"not_ready"}` (the checks of `/readyz`, without detail); with `"maintenance":true` while the deployment is in maintenance mode */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description True while the fleet is in maintenance mode: the API answers and runs queue, but no worker claims a step; or, quiesced, the API refuses new runs while workers finish the accepted ones (absent where the process does not check it) */
                            maintenance?: boolean;
                            /** @enum {string} */
                            status: "ok";
                        };
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description A check of `/readyz` failed */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description True while the fleet is in maintenance mode: the API answers and runs queue, but no worker claims a step; or, quiesced, the API refuses new runs while workers finish the accepted ones (absent where the process does not check it) */
                            maintenance?: boolean;
                            /** @enum {string} */
                            status: "not_ready";
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Version and uptime */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            status: "ok";
                            uptime_s: number;
                            version: string;
                        };
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/livez": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: 200 while the process is up (whatever its dependencies) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            status: "ok";
                        };
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics (text exposition format)
         * @description Requires scope `metrics:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Prometheus text format */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": string;
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This OpenAPI 3.1 document */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description OpenAPI 3.1 document */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            [key: string]: unknown;
                        };
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: the checks this process's roles need; 503 not_ready naming the failing checks */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Shown to trusted addresses and admin/operator keys (`AGENTRY_READYZ_DETAIL`) */
                            checks?: {
                                /** @description The store answers a query */
                                database: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: an in-process gateway, or the remote one answering `/livez` when a workflow has agent steps */
                                gateway?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: whether the fleet is in maintenance mode (no worker claims a step; runs queue); fails on an API process while the fleet is quiesced (`agentry maintenance on --quiesce`: new runs are refused) */
                                maintenance?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description The schema is at the latest migration of this build */
                                migrations: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description When `AGENTRY_HEALTH_PROVIDERS` lists variables: each is set (named when not, never its value) */
                                providers?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: the step executors registered, one for every step kind the workflows use */
                                runtimes?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description Scheduler: this process's sweep loop ran within a few intervals */
                                scheduler?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description When the specs came from a bundle: its hash and signer */
                                specs?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description When `AGENTRY_HEALTH_TOOL_SECRETS` lists variables: each is set */
                                tool_secrets?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: not every tool server has failed */
                                tools?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description Gateway process: every model group has a provider with its key set and, at a configured base URL, reachable */
                                upstreams?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description Worker: this process's claim loop runs, went round within a few poll intervals, and its heartbeat reached the database */
                                worker?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API: a worker (any process) sent a heartbeat within 3 × the lease TTL */
                                workers?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                            };
                            /** @description `not_ready` when a check fails */
                            code?: string;
                            /** @description `failing: <checks>` */
                            detail?: string;
                            request_id?: string;
                            /** @enum {unknown} */
                            status: "ready" | "not_ready";
                        };
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description A check failed (`code: not_ready`) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Shown to trusted addresses and admin/operator keys (`AGENTRY_READYZ_DETAIL`) */
                            checks?: {
                                /** @description The store answers a query */
                                database: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: an in-process gateway, or the remote one answering `/livez` when a workflow has agent steps */
                                gateway?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: whether the fleet is in maintenance mode (no worker claims a step; runs queue); fails on an API process while the fleet is quiesced (`agentry maintenance on --quiesce`: new runs are refused) */
                                maintenance?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description The schema is at the latest migration of this build */
                                migrations: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description When `AGENTRY_HEALTH_PROVIDERS` lists variables: each is set (named when not, never its value) */
                                providers?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: the step executors registered, one for every step kind the workflows use */
                                runtimes?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description Scheduler: this process's sweep loop ran within a few intervals */
                                scheduler?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description When the specs came from a bundle: its hash and signer */
                                specs?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description When `AGENTRY_HEALTH_TOOL_SECRETS` lists variables: each is set */
                                tool_secrets?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API and worker: not every tool server has failed */
                                tools?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description Gateway process: every model group has a provider with its key set and, at a configured base URL, reachable */
                                upstreams?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description Worker: this process's claim loop runs, went round within a few poll intervals, and its heartbeat reached the database */
                                worker?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                                /** @description API: a worker (any process) sent a heartbeat within 3 × the lease TTL */
                                workers?: {
                                    /** @description What was found, or what failed */
                                    detail: string;
                                    /** @enum {unknown} */
                                    status: "ok" | "fail";
                                };
                            };
                            /** @description `not_ready` when a check fails */
                            code?: string;
                            /** @description `failing: <checks>` */
                            detail?: string;
                            request_id?: string;
                            /** @enum {unknown} */
                            status: "ready" | "not_ready";
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/info": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The answering process: version, Node.js, the store (kind, location without password, schema version), roles, tenancy, uptime
         * @description Requires scope `workers:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description The Node.js version the process runs on */
                            node: string;
                            /** @description What the answering process runs: `api`, `worker`, `scheduler`, `gateway` (none: the CLI on the store) */
                            roles: string[];
                            /** Format: date-time */
                            started_at: string;
                            /** StoreInfo */
                            store: {
                                /**
                                 * @description The database engine
                                 * @enum {unknown}
                                 */
                                kind: "sqlite" | "postgres";
                                /** @description The highest migration this build has */
                                latest: number;
                                /** @description Where the database is: `sqlite:<file>`, or the PostgreSQL URL without its password or query */
                                location: string;
                                /** @description The highest migration applied to the database */
                                schema_version: number;
                            };
                            tenancy: {
                                /**
                                 * @description `AGENTRY_TENANCY`
                                 * @enum {unknown}
                                 */
                                mode: "single" | "multi";
                                /** @description The deployment’s tenant (`AGENTRY_TENANT`) */
                                tenant: string;
                            };
                            /** @description Seconds since the answering process started */
                            uptime_s: number;
                            /** @description Agentry’s version */
                            version: string;
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List managed API keys, newest first (never their secrets)
         * @description Requires scope `keys:admin`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description next_cursor of the previous page */
                    cursor?: string;
                    limit?: number;
                    /** @description Only keys of this name (its current key and the ones it replaced) */
                    name?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** Format: date-time */
                                created_at: string;
                                created_by: string;
                                expires_at: string | null;
                                grace_until: string | null;
                                /** @description key_<26 chars>; the secret starts with agk_<the same 26 chars>_ */
                                id: string;
                                last_used_at: string | null;
                                /** @description The principal the key signs in as; runs it starts are recorded as its own */
                                name: string;
                                /** @description The public start of the secret (agk_<26 chars>), to recognise a key in a leak report */
                                prefix: string;
                                replaced_by: string | null;
                                revoked_at: string | null;
                                revoked_by: string | null;
                                /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                                roles: string[];
                                rotated_from: string | null;
                                /**
                                 * @description active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in
                                 * @enum {unknown}
                                 */
                                status: "active" | "grace" | "rotated" | "expired" | "revoked";
                                tenant_id: string;
                            }[];
                            next_cursor: string | null;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create a managed API key; the answer holds its secret, shown only this once
         * @description Requires scope `keys:admin`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description How long the key works (`90d`, `12h`; at most 3650d); default: until revoked */
                        expires_in?: string;
                        /** @description The principal the key signs in as: 1–64 letters, digits or _.@- */
                        name: string;
                        /** @description Roles (admin, operator, service, reviewer, viewer), raw scopes, task roles (`role:<name>`) */
                        roles: string[];
                    };
                };
            };
            responses: {
                /** @description A new key and its secret; after a rotate, `previous` is the key it replaced */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** ApiKey */
                            key: {
                                /** Format: date-time */
                                created_at: string;
                                created_by: string;
                                expires_at: string | null;
                                grace_until: string | null;
                                /** @description key_<26 chars>; the secret starts with agk_<the same 26 chars>_ */
                                id: string;
                                last_used_at: string | null;
                                /** @description The principal the key signs in as; runs it starts are recorded as its own */
                                name: string;
                                /** @description The public start of the secret (agk_<26 chars>), to recognise a key in a leak report */
                                prefix: string;
                                replaced_by: string | null;
                                revoked_at: string | null;
                                revoked_by: string | null;
                                /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                                roles: string[];
                                rotated_from: string | null;
                                /**
                                 * @description active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in
                                 * @enum {unknown}
                                 */
                                status: "active" | "grace" | "rotated" | "expired" | "revoked";
                                tenant_id: string;
                            };
                            /** ApiKey */
                            previous?: {
                                /** Format: date-time */
                                created_at: string;
                                created_by: string;
                                expires_at: string | null;
                                grace_until: string | null;
                                /** @description key_<26 chars>; the secret starts with agk_<the same 26 chars>_ */
                                id: string;
                                last_used_at: string | null;
                                /** @description The principal the key signs in as; runs it starts are recorded as its own */
                                name: string;
                                /** @description The public start of the secret (agk_<26 chars>), to recognise a key in a leak report */
                                prefix: string;
                                replaced_by: string | null;
                                revoked_at: string | null;
                                revoked_by: string | null;
                                /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                                roles: string[];
                                rotated_from: string | null;
                                /**
                                 * @description active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in
                                 * @enum {unknown}
                                 */
                                status: "active" | "grace" | "rotated" | "expired" | "revoked";
                                tenant_id: string;
                            };
                            /** @description The key to send (Authorization: Bearer …). Shown only in this answer: it is not stored and cannot be shown again */
                            secret: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a managed API key by id, secret prefix or name
         * @description Requires scope `keys:admin`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description A key id (`key_…`), the public prefix of its secret (`agk_…`), or its name in the tenant */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at: string;
                            created_by: string;
                            expires_at: string | null;
                            grace_until: string | null;
                            /** @description key_<26 chars>; the secret starts with agk_<the same 26 chars>_ */
                            id: string;
                            last_used_at: string | null;
                            /** @description The principal the key signs in as; runs it starts are recorded as its own */
                            name: string;
                            /** @description The public start of the secret (agk_<26 chars>), to recognise a key in a leak report */
                            prefix: string;
                            replaced_by: string | null;
                            revoked_at: string | null;
                            revoked_by: string | null;
                            /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                            roles: string[];
                            rotated_from: string | null;
                            /**
                             * @description active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in
                             * @enum {unknown}
                             */
                            status: "active" | "grace" | "rotated" | "expired" | "revoked";
                            tenant_id: string;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/keys/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke a key (by name: every key of the name not revoked yet); every API process refuses it within seconds
         * @description Requires scope `keys:admin`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description A key id (`key_…`), the public prefix of its secret (`agk_…`), or its name in the tenant */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description The keys this request revoked */
                            revoked: {
                                /** Format: date-time */
                                created_at: string;
                                created_by: string;
                                expires_at: string | null;
                                grace_until: string | null;
                                /** @description key_<26 chars>; the secret starts with agk_<the same 26 chars>_ */
                                id: string;
                                last_used_at: string | null;
                                /** @description The principal the key signs in as; runs it starts are recorded as its own */
                                name: string;
                                /** @description The public start of the secret (agk_<26 chars>), to recognise a key in a leak report */
                                prefix: string;
                                replaced_by: string | null;
                                revoked_at: string | null;
                                revoked_by: string | null;
                                /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                                roles: string[];
                                rotated_from: string | null;
                                /**
                                 * @description active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in
                                 * @enum {unknown}
                                 */
                                status: "active" | "grace" | "rotated" | "expired" | "revoked";
                                tenant_id: string;
                            }[];
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/keys/{id}/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Replace a key by a new secret under the same name; the old one works for a grace period
         * @description Requires scope `keys:admin`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description A key id (`key_…`), the public prefix of its secret (`agk_…`), or its name in the tenant */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description How long the new key works (default: as long as the replaced key was given) */
                        expires_in?: string;
                        /** @description How long the replaced key keeps working (default 24h, at most 30d; `0s`: it stops at once) */
                        grace?: string;
                    };
                };
            };
            responses: {
                /** @description A new key and its secret; after a rotate, `previous` is the key it replaced */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** ApiKey */
                            key: {
                                /** Format: date-time */
                                created_at: string;
                                created_by: string;
                                expires_at: string | null;
                                grace_until: string | null;
                                /** @description key_<26 chars>; the secret starts with agk_<the same 26 chars>_ */
                                id: string;
                                last_used_at: string | null;
                                /** @description The principal the key signs in as; runs it starts are recorded as its own */
                                name: string;
                                /** @description The public start of the secret (agk_<26 chars>), to recognise a key in a leak report */
                                prefix: string;
                                replaced_by: string | null;
                                revoked_at: string | null;
                                revoked_by: string | null;
                                /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                                roles: string[];
                                rotated_from: string | null;
                                /**
                                 * @description active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in
                                 * @enum {unknown}
                                 */
                                status: "active" | "grace" | "rotated" | "expired" | "revoked";
                                tenant_id: string;
                            };
                            /** ApiKey */
                            previous?: {
                                /** Format: date-time */
                                created_at: string;
                                created_by: string;
                                expires_at: string | null;
                                grace_until: string | null;
                                /** @description key_<26 chars>; the secret starts with agk_<the same 26 chars>_ */
                                id: string;
                                last_used_at: string | null;
                                /** @description The principal the key signs in as; runs it starts are recorded as its own */
                                name: string;
                                /** @description The public start of the secret (agk_<26 chars>), to recognise a key in a leak report */
                                prefix: string;
                                replaced_by: string | null;
                                revoked_at: string | null;
                                revoked_by: string | null;
                                /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                                roles: string[];
                                rotated_from: string | null;
                                /**
                                 * @description active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in
                                 * @enum {unknown}
                                 */
                                status: "active" | "grace" | "rotated" | "expired" | "revoked";
                                tenant_id: string;
                            };
                            /** @description The key to send (Authorization: Bearer …). Shown only in this answer: it is not stored and cannot be shown again */
                            secret: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/maintenance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Whether the deployment is in maintenance mode (no worker claims a step), since when, by whom and why
         * @description Requires scope `maintenance:admin`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            by: string | null;
                            /** @description True while the deployment is in maintenance mode (see `quiesce` for which kind) */
                            on: boolean;
                            /** @description False: no worker claims a step (the API keeps answering; runs started meanwhile queue). True (quiesce): the API refuses new runs (503 `maintenance_quiesced`) and `/readyz` of API processes answers 503, while workers finish the runs already accepted */
                            quiesce: boolean;
                            reason: string | null;
                            since: string | null;
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        /**
         * Turn maintenance mode on: no worker claims a step (running ones finish); the API keeps answering and new runs queue. With `quiesce`: the API refuses new runs (503 `maintenance_quiesced`) and its `/readyz` answers 503, while workers finish the accepted runs
         * @description Requires scope `maintenance:admin`.
         */
        put: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Quiesce rather than pause claiming: refuse new runs, let workers finish the accepted ones (default false) */
                        quiesce?: boolean;
                        /** @description Why, for whoever looks (`GET`, /readyz, the audit log) */
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            by: string | null;
                            /** @description True while the deployment is in maintenance mode (see `quiesce` for which kind) */
                            on: boolean;
                            /** @description False: no worker claims a step (the API keeps answering; runs started meanwhile queue). True (quiesce): the API refuses new runs (503 `maintenance_quiesced`) and `/readyz` of API processes answers 503, while workers finish the runs already accepted */
                            quiesce: boolean;
                            reason: string | null;
                            since: string | null;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        post?: never;
        /**
         * Turn maintenance mode off: workers claim again at their next poll
         * @description Requires scope `maintenance:admin`.
         */
        delete: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            by: string | null;
                            /** @description True while the deployment is in maintenance mode (see `quiesce` for which kind) */
                            on: boolean;
                            /** @description False: no worker claims a step (the API keeps answering; runs started meanwhile queue). True (quiesce): the API refuses new runs (503 `maintenance_quiesced`) and `/readyz` of API processes answers 503, while workers finish the runs already accepted */
                            quiesce: boolean;
                            reason: string | null;
                            since: string | null;
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/quotas": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Rate limits and run quotas in force, with run usage per tenant
         * @description Requires scope `usage:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** TenantLimits */
                            defaults: {
                                /** @description Requests the tenant’s bucket holds; null: no limit */
                                burst: number | null;
                                /** @description Runs not yet ended (queued, running, waiting); null: no limit */
                                max_concurrent_runs: number | null;
                                /** @description Runs started in any rolling hour; null: no limit */
                                max_runs_per_hour: number | null;
                                /** @description Requests a minute the tenant’s bucket refills with; null: no limit */
                                requests_per_minute: number | null;
                            };
                            /** @description Request rate of a key by name (`limits.keys`) */
                            keys: {
                                [key: string]: {
                                    burst: number;
                                    requests_per_minute: number;
                                } | null;
                            };
                            /** @description Request rate of a key by role (`limits.roles`) */
                            roles: {
                                [key: string]: {
                                    burst: number;
                                    requests_per_minute: number;
                                } | null;
                            };
                            /** @description Tenants with their own `limits.tenants` entry (effective values) */
                            tenants: {
                                [key: string]: {
                                    /** @description Requests the tenant’s bucket holds; null: no limit */
                                    burst: number | null;
                                    /** @description Runs not yet ended (queued, running, waiting); null: no limit */
                                    max_concurrent_runs: number | null;
                                    /** @description Runs started in any rolling hour; null: no limit */
                                    max_runs_per_hour: number | null;
                                    /** @description Requests a minute the tenant’s bucket refills with; null: no limit */
                                    requests_per_minute: number | null;
                                };
                            };
                            /** @description The caller's tenant, or every tenant for a caller that reads every tenant */
                            usage: {
                                /** @description Runs of the tenant not yet ended */
                                concurrent_runs: number;
                                /** TenantLimits */
                                limits: {
                                    /** @description Requests the tenant’s bucket holds; null: no limit */
                                    burst: number | null;
                                    /** @description Runs not yet ended (queued, running, waiting); null: no limit */
                                    max_concurrent_runs: number | null;
                                    /** @description Runs started in any rolling hour; null: no limit */
                                    max_runs_per_hour: number | null;
                                    /** @description Requests a minute the tenant’s bucket refills with; null: no limit */
                                    requests_per_minute: number | null;
                                };
                                /** @description Runs of the tenant started in the last 60 minutes (child runs included) */
                                runs_last_hour: number;
                                tenant_id: string;
                            }[];
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/sweep": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * One pass of the scheduler’s sweeps now: lapsed leases, runs and human tasks past their deadline, due schedules, retention
         * @description Requires scope `maintenance:admin`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Attempts whose lease had lapsed: re-queued or failed `lease_expired` */
                            leases_expired: number;
                            /** @description The maintenance tasks configured (retention); each ran now */
                            maintenance: {
                                /** @description What it deleted, e.g. `{ "runs": 3, "events": 120, "idempotency_keys": 0 }` */
                                counts: {
                                    [key: string]: number;
                                } | null;
                                error: string | null;
                                /** @description `run retention`, `audit retention` */
                                task: string;
                            }[];
                            /** @description Runs past their deadline, ended `timed_out` */
                            runs_timed_out: number;
                            /** @description Schedule ticks handled: runs started, ticks skipped (null: the process knows no workflows) */
                            schedules: {
                                skipped: number;
                                started: number;
                            } | null;
                            /** @description Human tasks past their deadline: expired (or escalated, as their step says) */
                            tasks_overdue: number;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/workers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The worker processes: host, pid, roles, concurrency, the steps each holds, heartbeat age and state (active, draining, stale)
         * @description Requires scope `workers:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** @description Steps its worker pool runs at once at most */
                                concurrency: number;
                                /** @description Running steps it holds a lease on now */
                                current_steps: number;
                                drain_requested_at: string | null;
                                /** @description Seconds since its last heartbeat reached the database */
                                heartbeat_age_s: number;
                                /** Format: date-time */
                                heartbeat_at: string;
                                host: string;
                                /** @description The process’s worker id (`wrk_…`), as `agentry workers drain` takes it */
                                id: string;
                                pid: number;
                                /** @description What the process runs: `worker` (a worker pool), `scheduler` (the sweeps) */
                                roles: string[];
                                /** Format: date-time */
                                started_at: string;
                                /**
                                 * @description `active`; `draining` (asked to drain: claims no step, finishes its running ones, then exits); `stale` (no heartbeat for 3 lease TTLs: gone or cut off)
                                 * @enum {unknown}
                                 */
                                state: "active" | "draining" | "stale";
                            }[];
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/workers/{id}/drain": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Drain a worker: it claims no more steps, finishes its running ones (hands back the rest after its shutdown grace) and exits
         * @description Requires scope `workers:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description A worker id (`wrk_…`), as `GET /v1/admin/workers` lists it */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Steps its worker pool runs at once at most */
                            concurrency: number;
                            /** @description Running steps it holds a lease on now */
                            current_steps: number;
                            drain_requested_at: string | null;
                            /** @description Seconds since its last heartbeat reached the database */
                            heartbeat_age_s: number;
                            /** Format: date-time */
                            heartbeat_at: string;
                            host: string;
                            /** @description The process’s worker id (`wrk_…`), as `agentry workers drain` takes it */
                            id: string;
                            pid: number;
                            /** @description What the process runs: `worker` (a worker pool), `scheduler` (the sweeps) */
                            roles: string[];
                            /** Format: date-time */
                            started_at: string;
                            /**
                             * @description `active`; `draining` (asked to drain: claims no step, finishes its running ones, then exits); `stale` (no heartbeat for 3 lease TTLs: gone or cut off)
                             * @enum {unknown}
                             */
                            state: "active" | "draining" | "stale";
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List audit log entries, newest first
         * @description Requires scope `audit:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Only this action (run.cancel, task.decide, …) */
                    action?: string;
                    /** @description Entries at or after this time */
                    after?: string;
                    /** @description Entries before this time */
                    before?: string;
                    /** @description next_cursor of the previous page */
                    cursor?: string;
                    limit?: number;
                    /** @description Only entries by this principal (key name, CLI user, system) */
                    principal?: string;
                    /** @description Only entries about this run: its start, cancel, retry, signals and its tasks' decisions */
                    run_id?: string;
                    /** @description Only entries on this target (run:<id>, task:<id>, schedule:<workflow>, …) */
                    target?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** @description run.start, run.cancel, task.decide, schedule.pause, tool.disable, store.migrate, … */
                                action: string;
                                /** Format: date-time */
                                at: string;
                                client_ip: string | null;
                                details: {
                                    [key: string]: unknown;
                                } | null;
                                /** @description SHA-256 (hex) over this entry's fields and prev_hash */
                                hash: string;
                                id: string;
                                /**
                                 * @description success; denied (refused: not found, not allowed, invalid); failure
                                 * @enum {unknown}
                                 */
                                outcome: "success" | "denied" | "failure";
                                /** @description SHA-256 (hex) of the entry before this one */
                                prev_hash: string;
                                /** @description The key's name, the CLI's user, or system */
                                principal: string;
                                request_id: string | null;
                                run_id: string | null;
                                /** @description Position in the hash chain */
                                seq: number;
                                target: string | null;
                                tenant_id: string | null;
                            }[];
                            next_cursor: string | null;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every matching audit entry, oldest first, as JSON Lines (for a SIEM)
         * @description Requires scope `audit:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Only this action (run.cancel, task.decide, …) */
                    action?: string;
                    /** @description Entries at or after this time */
                    after?: string;
                    /** @description Only entries after this seq: the last seq a previous export delivered (default 0: from the start) */
                    after_seq?: number;
                    /** @description Entries before this time */
                    before?: string;
                    /** @description Only entries by this principal (key name, CLI user, system) */
                    principal?: string;
                    /** @description Only entries about this run: its start, cancel, retry, signals and its tasks' decisions */
                    run_id?: string;
                    /** @description Only entries on this target (run:<id>, task:<id>, schedule:<workflow>, …) */
                    target?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description One audit entry (as in GET /v1/audit) per line, in chain order */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/x-ndjson": string;
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/whoami": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's principal, tenant, roles, scopes and credential expiry
         * @description Requires any valid API key or token.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description When the credential stops working: a token's `exp`, a managed key's expiry (or the end of its grace after a rotate); null for keys that do not expire */
                            expires_at: string | null;
                            /** @description The managed key signed in with (`key_…`); null for bootstrap keys and tokens */
                            key_id: string | null;
                            /** @description The caller's name: the key's name, or `oidc:<sub>` for a signed-in person; runs it starts are recorded as its own */
                            principal: string;
                            /** @description Roles, raw scopes and task roles (`role:<name>`) granted */
                            roles: string[];
                            /** @description The scopes those grant */
                            scopes: string[];
                            /** @description True when the caller may act in any tenant by naming it (bootstrap `admin` keys without `tenant:`, the break-glass key, auth off) */
                            system_admin: boolean;
                            /** @description The tenant the caller acts in: the credential's own, or the one a system admin named with `?tenant=` / `X-Agentry-Tenant` */
                            tenant_id: string;
                            /** @description How the caller signed in; null with auth off */
                            via: "api_key" | "oidc" | null;
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/chat/completions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Chat completion in OpenAI's wire format (model = a model group); `stream: true` answers text/event-stream
         * @description Requires scope `gateway:use`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: {
                    /** @description The run's budget as JSON, e.g. {"maxCostUsd":2,"maxTokens":100000} (needs the run id) */
                    "x-agentry-budget"?: string;
                    /** @description Record usage against this run (it must exist in this tenant) */
                    "x-agentry-run-id"?: string;
                    /** @description The run's step making the call (needs the run id) */
                    "x-agentry-step-id"?: string;
                    /** @description Workflow for the per-workflow daily budget (default: the run's) */
                    "x-agentry-workflow"?: string;
                };
                path?: never;
                cookie?: never;
            };
            /** @description OpenAI's chat-completions request; parameters not listed here are ignored. One a target of the group cannot honour is refused (400 unsupported_parameter) or, with the group's drop_params, dropped and named in x-agentry-dropped-params */
            requestBody: {
                content: {
                    "application/json": {
                        frequency_penalty?: number;
                        logit_bias?: {
                            [key: string]: number;
                        };
                        logprobs?: boolean;
                        max_completion_tokens?: number;
                        max_tokens?: number;
                        messages: ({
                            content?: string | ({
                                type: string;
                            } & {
                                [key: string]: unknown;
                            })[] | null;
                            name?: string;
                            /**
                             * @description `developer` is sent as `system`
                             * @enum {unknown}
                             */
                            role: "system" | "developer" | "user" | "assistant" | "tool";
                            tool_call_id?: string;
                            tool_calls?: ({
                                function: {
                                    arguments: string;
                                    name: string;
                                };
                                id: string;
                                /** @enum {string} */
                                type: "function";
                            } & {
                                [key: string]: unknown;
                            })[];
                        } & {
                            [key: string]: unknown;
                        })[];
                        metadata?: {
                            [key: string]: string;
                        };
                        /** @description A model group (gateway.yaml `models:`); see GET /v1/models */
                        model: string;
                        n?: number;
                        parallel_tool_calls?: boolean;
                        presence_penalty?: number;
                        reasoning_effort?: string;
                        response_format?: {
                            /** @enum {string} */
                            type: "text";
                        } | {
                            /** @enum {string} */
                            type: "json_object";
                        } | {
                            json_schema: {
                                [key: string]: unknown;
                            };
                            /** @enum {string} */
                            type: "json_schema";
                        };
                        seed?: number;
                        service_tier?: string;
                        stop?: string | string[];
                        stream?: boolean;
                        stream_options?: {
                            include_usage?: boolean;
                        } & {
                            [key: string]: unknown;
                        };
                        temperature?: number;
                        tool_choice?: ("auto" | "none" | "required") | {
                            function: {
                                name: string;
                            };
                            /** @enum {string} */
                            type: "function";
                        };
                        tools?: ({
                            function: {
                                description?: string;
                                name: string;
                                parameters?: {
                                    [key: string]: unknown;
                                };
                            } & {
                                [key: string]: unknown;
                            };
                            /** @enum {string} */
                            type: "function";
                        } & {
                            [key: string]: unknown;
                        })[];
                        top_logprobs?: number;
                        top_p?: number;
                        user?: string;
                    } & {
                        [key: string]: unknown;
                    };
                };
            };
            responses: {
                /** @description A chat.completion (JSON; headers x-agentry-call-id, x-agentry-model-group, x-agentry-provider, x-agentry-cost-usd name the call), or with stream: true, data: <chat.completion.chunk> frames ending with data: [DONE] */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            choices: unknown[];
                            created: number;
                            id: string;
                            model: string;
                            /** @enum {string} */
                            object: "chat.completion";
                            usage: unknown;
                        } & {
                            [key: string]: unknown;
                        };
                        "text/event-stream": string;
                    };
                };
                /** @description `invalid_request`, `limit_exceeded`, `unsupported_parameter` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `budget_exceeded` */
                402: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `provider_error` */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable`, `not_ready`, `provider_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `provider_timeout` */
                504: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/embeddings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Embeddings in OpenAI's wire format (model = a model group of openai, openai-compatible or mock targets)
         * @description Requires scope `gateway:use`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: {
                    /** @description The run's budget as JSON, e.g. {"maxCostUsd":2,"maxTokens":100000} (needs the run id) */
                    "x-agentry-budget"?: string;
                    /** @description Record usage against this run (it must exist in this tenant) */
                    "x-agentry-run-id"?: string;
                    /** @description The run's step making the call (needs the run id) */
                    "x-agentry-step-id"?: string;
                    /** @description Workflow for the per-workflow daily budget (default: the run's) */
                    "x-agentry-workflow"?: string;
                };
                path?: never;
                cookie?: never;
            };
            /** @description OpenAI's embeddings request; other parameters are ignored */
            requestBody: {
                content: {
                    "application/json": {
                        dimensions?: number;
                        /** @enum {unknown} */
                        encoding_format?: "float" | "base64";
                        /** @description A text, texts, or token arrays */
                        input: string | string[] | number[] | number[][];
                        /** @description A model group (gateway.yaml `models:`) whose targets make embeddings */
                        model: string;
                        user?: string;
                    } & {
                        [key: string]: unknown;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            data: {
                                embedding: number[] | string;
                                index: number;
                                /** @enum {string} */
                                object: "embedding";
                            }[];
                            /** @description The upstream model that answered */
                            model: string;
                            /** @enum {string} */
                            object: "list";
                            usage: {
                                prompt_tokens: number;
                                total_tokens: number;
                            };
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `budget_exceeded` */
                402: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `provider_error` */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable`, `not_ready`, `provider_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `provider_timeout` */
                504: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Events across runs, in time order: by workflow, type, run, step and time window
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description next_cursor of the previous page */
                    cursor?: string;
                    /** @description RFC 3339: events at or after this time */
                    from?: string;
                    limit?: number;
                    /** @description Only events of this run */
                    run_id?: string;
                    /** @description Only events of this step (a for_each item: `step[index]`) */
                    step_id?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                    /** @description RFC 3339: events before this time (not after from) */
                    to?: string;
                    /** @description Comma-separated event types, each exact (run.failed) or a family (step.*); any of them matches. Types: run.created, run.started, run.waiting, run.resumed, run.succeeded, run.failed, run.cancelled, run.timed_out, step.queued, step.started, step.succeeded, step.failed, step.retry_scheduled, step.waiting, step.skipped, step.cancelled, step.lease_expired, step.released, step.reused, map.started, task.created, task.completed, task.escalated, task.expired, task.cancelled, signal.received, child.started, child.finished, run.blocked */
                    type?: string;
                    /** @description Only events of runs of this workflow */
                    workflow?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description In time order (at, then run_id, then seq) */
                            items: {
                                /** Format: date-time */
                                at: string;
                                data: unknown;
                                run_id: string;
                                seq: number;
                                step_id: string | null;
                                type: string;
                                /** @description The run's workflow */
                                workflow: string;
                            }[];
                            next_cursor: string | null;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A message in Anthropic's Messages API format (model = a model group); `stream: true` answers Anthropic's event stream
         * @description Requires scope `gateway:use`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: {
                    /** @description The run's budget as JSON, e.g. {"maxCostUsd":2,"maxTokens":100000} (needs the run id) */
                    "x-agentry-budget"?: string;
                    /** @description Record usage against this run (it must exist in this tenant) */
                    "x-agentry-run-id"?: string;
                    /** @description The run's step making the call (needs the run id) */
                    "x-agentry-step-id"?: string;
                    /** @description Workflow for the per-workflow daily budget (default: the run's) */
                    "x-agentry-workflow"?: string;
                };
                path?: never;
                cookie?: never;
            };
            /** @description Anthropic's Messages API request. Other fields (thinking, service_tier, cache_control on blocks …) reach Anthropic targets as sent; OpenAI-format targets get the translation */
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Required, as in Anthropic’s API */
                        max_tokens: number;
                        messages: {
                            /** @description Text, or content blocks */
                            content: string | ({
                                /** @description text, image, document, tool_use, tool_result, thinking, … */
                                type: string;
                            } & {
                                [key: string]: unknown;
                            })[];
                            /**
                             * @description Anthropic's roles; the system prompt is the top-level `system`
                             * @enum {unknown}
                             */
                            role: "user" | "assistant";
                        }[];
                        metadata?: {
                            user_id?: string;
                        } & {
                            [key: string]: unknown;
                        };
                        /** @description A model group (gateway.yaml `models:`); see GET /v1/models */
                        model: string;
                        stop_sequences?: string[];
                        stream?: boolean;
                        /** @description The system prompt: text, or text blocks */
                        system?: string | ({
                            /** @description text, image, document, tool_use, tool_result, thinking, … */
                            type: string;
                        } & {
                            [key: string]: unknown;
                        })[];
                        temperature?: number;
                        tool_choice?: {
                            disable_parallel_tool_use?: boolean;
                            name?: string;
                            /** @enum {unknown} */
                            type: "auto" | "any" | "tool" | "none";
                        };
                        tools?: ({
                            description?: string;
                            input_schema?: {
                                [key: string]: unknown;
                            };
                            name: string;
                            /** @description set for server tools (Anthropic targets only) */
                            type?: string;
                        } & {
                            [key: string]: unknown;
                        })[];
                        /** @description Anthropic targets only; dropped for OpenAI-format ones */
                        top_k?: number;
                        top_p?: number;
                    } & {
                        [key: string]: unknown;
                    };
                };
            };
            responses: {
                /** @description A message (JSON; headers x-agentry-call-id, x-agentry-model-group, x-agentry-provider, x-agentry-cost-usd name the call), or with stream: true, Anthropic's named events from message_start to message_stop */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            content: unknown[];
                            id: string;
                            model: string;
                            /** @enum {string} */
                            role: "assistant";
                            stop_reason: string | null;
                            /** @enum {string} */
                            type: "message";
                            usage: unknown;
                        } & {
                            [key: string]: unknown;
                        };
                        "text/event-stream": string;
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` (Anthropic's error shape) */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `unauthorized` (Anthropic's error shape) */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `budget_exceeded` (Anthropic's error shape) */
                402: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `forbidden` (Anthropic's error shape) */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `not_found` (Anthropic's error shape) */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `payload_too_large` (Anthropic's error shape) */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `unsupported_media_type` (Anthropic's error shape) */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `rate_limited` (Anthropic's error shape) */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `internal` (Anthropic's error shape) */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `provider_error` (Anthropic's error shape) */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `auth_unavailable`, `not_ready`, `provider_unavailable` (Anthropic's error shape) */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
                /** @description `provider_timeout` (Anthropic's error shape) */
                504: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AnthropicError"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The model groups, in OpenAI's list format
         * @description Requires scope `gateway:use`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            data: {
                                created: number;
                                id: string;
                                /** @enum {string} */
                                object: "model";
                                owned_by: string;
                            }[];
                            /** @enum {string} */
                            object: "list";
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable`, `not_ready`, `provider_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A model group, in OpenAI's model format
         * @description Requires scope `gateway:use`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            created: number;
                            id: string;
                            /** @enum {string} */
                            object: "model";
                            owned_by: string;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable`, `not_ready`, `provider_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List runs, newest first
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    created_after?: string;
                    created_before?: string;
                    /** @description next_cursor of the previous page */
                    cursor?: string;
                    limit?: number;
                    /** @description Comma-separated statuses: queued, running, waiting, succeeded, failed, cancelled, timed_out */
                    status?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                    workflow?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** Format: date-time */
                                created_at: string;
                                created_by: string | null;
                                deadline_at: string | null;
                                error: {
                                    code: string;
                                    details?: unknown;
                                    message: string;
                                    retryable?: boolean;
                                } | null;
                                finished_at: string | null;
                                id: string;
                                input: unknown;
                                last_event_seq: number;
                                output: unknown;
                                parent: {
                                    run_id: string;
                                    step_id: string;
                                } | null;
                                priority: number;
                                retry_of: string | null;
                                spec_hash: string;
                                started_at: string | null;
                                /** @enum {unknown} */
                                status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                                tenant_id: string;
                                trace_id: string | null;
                                /** Format: date-time */
                                updated_at: string;
                                workflow: string;
                            }[];
                            next_cursor: string | null;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a run with its steps (status, attempt, timings, output, error) and its LLM usage
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Run id */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Runs started by this run's `workflow:` steps, oldest first */
                            children: {
                                id: string;
                                /** @enum {unknown} */
                                status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                                /** @description The step of the parent run that started it */
                                step_id: string;
                                workflow: string;
                            }[];
                            /** Format: date-time */
                            created_at: string;
                            created_by: string | null;
                            deadline_at: string | null;
                            error: {
                                code: string;
                                details?: unknown;
                                message: string;
                                retryable?: boolean;
                            } | null;
                            finished_at: string | null;
                            id: string;
                            input: unknown;
                            last_event_seq: number;
                            output: unknown;
                            parent: {
                                run_id: string;
                                step_id: string;
                            } | null;
                            priority: number;
                            retry_of: string | null;
                            spec_hash: string;
                            started_at: string | null;
                            /** @enum {unknown} */
                            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                            steps: {
                                /** @description Number of the latest attempt (0 before the first) */
                                attempt: number;
                                available_at: string | null;
                                duration_ms: number | null;
                                error: {
                                    code: string;
                                    details?: unknown;
                                    message: string;
                                    retryable?: boolean;
                                } | null;
                                finished_at: string | null;
                                id: string;
                                kind: string;
                                meta: unknown;
                                output: unknown;
                                started_at: string | null;
                                /** @enum {unknown} */
                                status: "pending" | "queued" | "running" | "waiting" | "succeeded" | "failed" | "skipped" | "cancelled" | "expired";
                            }[];
                            tenant_id: string;
                            trace_id: string | null;
                            /** Format: date-time */
                            updated_at: string;
                            /**
                             * RunUsage
                             * @description The run's LLM usage from the gateway's ledger
                             */
                            usage: {
                                /** @description LLM call attempts recorded against the run */
                                calls: number;
                                cost_usd: number;
                                input_tokens: number;
                                output_tokens: number;
                            };
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a run that has not ended (running steps are aborted)
         * @description Requires scope `runs:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Run id */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        reason?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at: string;
                            created_by: string | null;
                            deadline_at: string | null;
                            error: {
                                code: string;
                                details?: unknown;
                                message: string;
                                retryable?: boolean;
                            } | null;
                            finished_at: string | null;
                            id: string;
                            input: unknown;
                            last_event_seq: number;
                            output: unknown;
                            parent: {
                                run_id: string;
                                step_id: string;
                            } | null;
                            priority: number;
                            retry_of: string | null;
                            spec_hash: string;
                            started_at: string | null;
                            /** @enum {unknown} */
                            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                            tenant_id: string;
                            trace_id: string | null;
                            /** Format: date-time */
                            updated_at: string;
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Events of a run: a JSON page, or a text/event-stream (Accept: text/event-stream) that resumes after Last-Event-ID
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Events with seq greater than this */
                    after?: number;
                    limit?: number;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: {
                    /** @description Stream: resume after this seq (overrides ?after=) */
                    "last-event-id"?: string;
                };
                path: {
                    /** @description Run id */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of events (application/json) or the event stream (text/event-stream) */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** Format: date-time */
                                at: string;
                                data: unknown;
                                seq: number;
                                step_id: string | null;
                                type: string;
                            }[];
                            /** @description Pass as ?after= for the next page */
                            next_after: number;
                        };
                        "text/event-stream": string;
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Re-run an ended run as a new run with the same input, reusing the steps that need not run again
         * @description Requires scope `runs:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Run id */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Re-run from this step: it and the steps downstream of it run again, the others are reused (any ended run). Without it: retry from the failed step (failed, cancelled or timed-out runs only) */
                        from_step?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at: string;
                            created_by: string | null;
                            deadline_at: string | null;
                            error: {
                                code: string;
                                details?: unknown;
                                message: string;
                                retryable?: boolean;
                            } | null;
                            finished_at: string | null;
                            id: string;
                            input: unknown;
                            last_event_seq: number;
                            output: unknown;
                            parent: {
                                run_id: string;
                                step_id: string;
                            } | null;
                            priority: number;
                            retry_of: string;
                            spec_hash: string;
                            started_at: string | null;
                            /** @enum {unknown} */
                            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                            tenant_id: string;
                            trace_id: string | null;
                            /** Format: date-time */
                            updated_at: string;
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited`, `quota_exceeded` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable`, `maintenance_quiesced` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/signals/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a signal to a run: the step waiting for it resumes with the JSON body as its output
         * @description Requires scope `runs:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Run id */
                    id: string;
                    /** @description Signal name, as in the step's `wait: { signal: <name> }` */
                    name: string;
                };
                cookie?: never;
            };
            /** @description The payload: any JSON value (optional; null without a body) */
            requestBody: {
                content: {
                    "application/json": unknown;
                };
            };
            responses: {
                /** @description The same signal (same payload) had already been received: nothing changed */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description True when this signal had already been received with the same payload (nothing changed) */
                            duplicate: boolean;
                            name: string;
                            /**
                             * Format: date-time
                             * @description When the signal was first received
                             */
                            received_at: string;
                            run_id: string;
                        };
                    };
                };
                /** @description The signal was received; the waiting step resumes */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description True when this signal had already been received with the same payload (nothing changed) */
                            duplicate: boolean;
                            name: string;
                            /**
                             * Format: date-time
                             * @description When the signal was first received
                             */
                            received_at: string;
                            run_id: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/steps/{step}/attempts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A step's attempts across the run and the runs it re-ran (oldest first), optionally with a diff of two of them
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description `a,b`: 1-based positions in items; adds what changed in input and output from a to b */
                    diff?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Run id */
                    id: string;
                    /** @description Step id (a for_each item: `step[index]`) */
                    step: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description With ?diff=a,b: what changed from attempt a to attempt b */
                            diff?: {
                                /** @description 1-based position in items */
                                from: number;
                                input: {
                                    /** @description Absent when the value was removed */
                                    after?: unknown;
                                    /** @description Absent when the value was added */
                                    before?: unknown;
                                    /** @description JSON Pointer of the changed value ('' for the whole value) */
                                    path: string;
                                }[];
                                output: {
                                    /** @description Absent when the value was removed */
                                    after?: unknown;
                                    /** @description Absent when the value was added */
                                    before?: unknown;
                                    /** @description JSON Pointer of the changed value ('' for the whole value) */
                                    path: string;
                                }[];
                                /** @description 1-based position in items */
                                to: number;
                            };
                            /** @description Oldest first, across the run and the runs it re-ran */
                            items: {
                                /** @description Number of the attempt within its run, from 1 */
                                attempt: number;
                                error: {
                                    code: string;
                                    details?: unknown;
                                    message: string;
                                    retryable?: boolean;
                                } | null;
                                finished_at: string | null;
                                /** @description The step's rendered configuration (and input) as the attempt ran it; secrets masked */
                                input: unknown;
                                output: unknown;
                                /** @description The run that made the attempt (this run or one it re-ran) */
                                run_id: string;
                                /** Format: date-time */
                                started_at: string;
                                /** @enum {unknown} */
                                status: "running" | "succeeded" | "failed" | "cancelled" | "lease_expired" | "released" | "suspended";
                                worker_id: string | null;
                            }[];
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/steps/{step}/items": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the items of a for_each step, in input order
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Items per page (at most 1000) */
                    limit?: number;
                    /** @description Index of the first item */
                    offset?: number;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Run id */
                    id: string;
                    /** @description Id of a step with for_each */
                    step: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: ({
                                /** @description Number of the latest attempt (0 before the first) */
                                attempt: number;
                                available_at: string | null;
                                duration_ms: number | null;
                                error: {
                                    code: string;
                                    details?: unknown;
                                    message: string;
                                    retryable?: boolean;
                                } | null;
                                finished_at: string | null;
                                id: string;
                                kind: string;
                                meta: unknown;
                                output: unknown;
                                started_at: string | null;
                                /** @enum {unknown} */
                                status: "pending" | "queued" | "running" | "waiting" | "succeeded" | "failed" | "skipped" | "cancelled" | "expired";
                            } & {
                                index: number;
                                /** @description The list element this item ran with */
                                item: unknown;
                            })[];
                            /** @description Offset of the next page; null on the last */
                            next_offset: number | null;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/steps/{step}/journal": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An agent step's turns: each model call (model, tokens, cost, latency, finish reason) and the tool calls it asked for, with arguments and results
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Turns after this one (next_after of the previous page) */
                    after?: number;
                    /** @description Turns per page (at most 200) */
                    limit?: number;
                    /** @description Texts (assistant messages, tool arguments, results and errors) longer than this are clipped, with a marker */
                    max_chars?: number;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Run id */
                    id: string;
                    /** @description Id of an agent step (a for_each item: `step[index]`) */
                    step: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agent: string;
                            /** @description The step's latest attempt (0 before the first) */
                            attempt: number;
                            next_after: number | null;
                            /** @description Ledger attempts no turn shows (oldest first, at most 100): failed attempts (provider errors, retries, fallbacks, budget refusals, cancellations) and answers the step never recorded */
                            other_calls: {
                                /** Format: date-time */
                                at: string;
                                attempt: number | null;
                                call_id: string;
                                cost_usd: number;
                                error_code: string | null;
                                group: string;
                                input_tokens: number;
                                latency_ms: number;
                                model: string;
                                /** @enum {unknown} */
                                outcome: "ok" | "error" | "budget_exceeded" | "cancelled";
                                output_tokens: number;
                                provider: string;
                            }[];
                            run_id: string;
                            /**
                             * @description The step's status
                             * @enum {unknown}
                             */
                            status: "pending" | "queued" | "running" | "waiting" | "succeeded" | "failed" | "skipped" | "cancelled" | "expired";
                            step_id: string;
                            /** @description The whole step, every page: turns and tool calls from the journal, calls, tokens and cost from the ledger */
                            totals: {
                                cost_usd: number;
                                input_tokens: number;
                                /** @description Attempts in the usage ledger (failed ones too) */
                                llm_calls: number;
                                output_tokens: number;
                                tool_calls: number;
                                turns: number;
                            };
                            /** @description A page of turns, oldest first */
                            turns: {
                                /** Format: date-time */
                                at: string;
                                attempt: number | null;
                                content: string | null;
                                content_truncated: boolean;
                                /** JournalModelCall */
                                model: {
                                    call_id: string | null;
                                    cost_usd: number | null;
                                    finish_reason: string | null;
                                    /** @description The model group the agent asked for */
                                    group: string;
                                    input_tokens: number;
                                    latency_ms: number | null;
                                    /** @description The upstream model that answered */
                                    model: string;
                                    output_tokens: number;
                                    provider: string | null;
                                };
                                /** @description The calls the model asked for, in its order */
                                tool_calls: {
                                    approval: {
                                        by: string | null;
                                        comment: string | null;
                                        decided_at: string | null;
                                        decision: string | null;
                                        /** @enum {unknown} */
                                        status: "open" | "completed" | "expired" | "cancelled";
                                        /** @description The tool_approval task */
                                        task_id: string;
                                    } | null;
                                    /** @description The arguments as JSON; their raw text when they are not JSON or longer than max_chars (then clipped) */
                                    arguments: unknown;
                                    at: string | null;
                                    attempt: number | null;
                                    duration_ms: number | null;
                                    error: string | null;
                                    /** @description The function name the model called (`<server>__<tool>`) */
                                    function: string;
                                    /** @description The model's id of the call */
                                    id: string;
                                    result: string | null;
                                    server: string | null;
                                    /**
                                     * @description ok: the tool answered; error: the model was told the call failed; refused: a reviewer rejected it; awaiting_approval: its task is open; not_run: no result was recorded (the attempt ended first)
                                     * @enum {unknown}
                                     */
                                    status: "ok" | "error" | "refused" | "awaiting_approval" | "not_run";
                                    tool: string | null;
                                    /** @description The arguments, result or error were longer than max_chars and are clipped (ending with a marker) */
                                    truncated: boolean;
                                }[];
                                /** @description From 1 */
                                turn: number;
                            }[];
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the tenant's workflow schedules with their next tick and last run
         * @description Requires scope `runs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /**
                                 * @description After missed ticks: none runs none of them, one runs the most recent once
                                 * @enum {unknown}
                                 */
                                catch_up: "none" | "one";
                                /** @description 5 fields (minute precision) or 6 (seconds first), or a nickname like @daily */
                                cron: string;
                                /** @description The last run the schedule started */
                                last_run_id: string | null;
                                /** @description The tick of the last run the schedule started */
                                last_tick_at: string | null;
                                /** @description The next tick; null while paused, or when the expression never matches again */
                                next_at: string | null;
                                /**
                                 * @description skip: no run for a tick while the schedule's last run has not ended
                                 * @enum {unknown}
                                 */
                                overlap: "skip" | "allow";
                                paused: boolean;
                                /** @description The tenant the schedule's runs belong to (its `tenant:`, else the deployment's) */
                                tenant_id: string;
                                /** @description IANA time zone the cron expression is read in */
                                timezone: string;
                                workflow: string;
                            }[];
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/{workflow}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Pause a schedule: it starts no runs until resumed (pausing a paused one changes nothing)
         * @description Requires scope `runs:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Name of the scheduled workflow */
                    workflow: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /**
                             * @description After missed ticks: none runs none of them, one runs the most recent once
                             * @enum {unknown}
                             */
                            catch_up: "none" | "one";
                            /** @description 5 fields (minute precision) or 6 (seconds first), or a nickname like @daily */
                            cron: string;
                            /** @description The last run the schedule started */
                            last_run_id: string | null;
                            /** @description The tick of the last run the schedule started */
                            last_tick_at: string | null;
                            /** @description The next tick; null while paused, or when the expression never matches again */
                            next_at: string | null;
                            /**
                             * @description skip: no run for a tick while the schedule's last run has not ended
                             * @enum {unknown}
                             */
                            overlap: "skip" | "allow";
                            paused: boolean;
                            /** @description The tenant the schedule's runs belong to (its `tenant:`, else the deployment's) */
                            tenant_id: string;
                            /** @description IANA time zone the cron expression is read in */
                            timezone: string;
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/{workflow}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Resume a paused schedule from its next tick (ticks passed while paused are not run)
         * @description Requires scope `runs:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Name of the scheduled workflow */
                    workflow: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /**
                             * @description After missed ticks: none runs none of them, one runs the most recent once
                             * @enum {unknown}
                             */
                            catch_up: "none" | "one";
                            /** @description 5 fields (minute precision) or 6 (seconds first), or a nickname like @daily */
                            cron: string;
                            /** @description The last run the schedule started */
                            last_run_id: string | null;
                            /** @description The tick of the last run the schedule started */
                            last_tick_at: string | null;
                            /** @description The next tick; null while paused, or when the expression never matches again */
                            next_at: string | null;
                            /**
                             * @description skip: no run for a tick while the schedule's last run has not ended
                             * @enum {unknown}
                             */
                            overlap: "skip" | "allow";
                            paused: boolean;
                            /** @description The tenant the schedule's runs belong to (its `tenant:`, else the deployment's) */
                            tenant_id: string;
                            /** @description IANA time zone the cron expression is read in */
                            timezone: string;
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/security/credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The credential inventory: secret references, whether each resolves and what uses it (never values)
         * @description Requires scope `credentials:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                    /** @description Only the secrets that do not resolve */
                    unresolved?: boolean;
                    /** @description Only the secrets used by this ('agent:triage', 'tool:github'; 'workflow:x' includes its steps) */
                    used_by?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** @description The environment variable (or configuration option) that holds the secret */
                                name: string;
                                /** @description Whether it has a value now (set, or its NAME_FILE readable) */
                                resolved: boolean;
                                /**
                                 * @description env: the environment; file: NAME_FILE; literal: written in agentry.yaml, a flag or a spec default
                                 * @enum {unknown}
                                 */
                                source: "env" | "file" | "literal";
                                /** @description What uses it: 'gateway:provider openai', 'tool:github', 'agent:triage', 'workflow:x step y', 'server:api keys', … */
                                used_by: string[];
                            }[];
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/specs/validate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Validate spec files (nothing is loaded or changed)
         * @description Requires scope `specs:read`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Spec files by path relative to the project, e.g. { "workflows/hello.yaml": "<yaml>" } */
                        files: {
                            [key: string]: string;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            diagnostics: {
                                column: number;
                                file: string;
                                line: number;
                                message: string;
                                path: string;
                                /** @enum {unknown} */
                                severity: "error" | "warning";
                            }[];
                            /** @description True when no diagnostic is an error */
                            valid: boolean;
                            /** @description Workflows that loaded */
                            workflows: string[];
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tasks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List human tasks, newest first
         * @description Requires scope `tasks:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description next_cursor of the previous page */
                    cursor?: string;
                    kind?: "human" | "tool_approval" | "review";
                    limit?: number;
                    /** @description Only tasks for this role */
                    role?: string;
                    run_id?: string;
                    /** @description Comma-separated statuses: open, completed, expired, cancelled */
                    status?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                    workflow?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                assignees: string[] | null;
                                comment: string | null;
                                /** @description What the reviewer needs to see (a tool call and its arguments, an agent output, …) */
                                context: unknown;
                                /** Format: date-time */
                                created_at: string;
                                decided_at: string | null;
                                decided_by: string | null;
                                decision: ("approve" | "reject" | "submit" | "timed_out") | null;
                                due_at: string | null;
                                /** @description How many times the task was escalated after its timeout */
                                escalations: number;
                                form_schema: {
                                    [key: string]: unknown;
                                } | null;
                                id: string;
                                instructions: string | null;
                                /**
                                 * @description human: a human step; tool_approval: an agent tool call waiting for approval; review: an agent output below its confidence threshold
                                 * @enum {unknown}
                                 */
                                kind: "human" | "tool_approval" | "review";
                                /** @description The data given with the decision (null without) */
                                response: unknown;
                                role: string | null;
                                run_id: string;
                                /** @enum {unknown} */
                                status: "open" | "completed" | "expired" | "cancelled";
                                step_id: string;
                                title: string;
                                /** Format: date-time */
                                updated_at: string;
                                workflow: string;
                            }[];
                            next_cursor: string | null;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tasks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a task: what it asks, its form, its context and, once decided, the decision
         * @description Requires scope `tasks:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Task id */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            assignees: string[] | null;
                            comment: string | null;
                            /** @description What the reviewer needs to see (a tool call and its arguments, an agent output, …) */
                            context: unknown;
                            /** Format: date-time */
                            created_at: string;
                            decided_at: string | null;
                            decided_by: string | null;
                            decision: ("approve" | "reject" | "submit" | "timed_out") | null;
                            due_at: string | null;
                            /** @description How many times the task was escalated after its timeout */
                            escalations: number;
                            form_schema: {
                                [key: string]: unknown;
                            } | null;
                            id: string;
                            instructions: string | null;
                            /**
                             * @description human: a human step; tool_approval: an agent tool call waiting for approval; review: an agent output below its confidence threshold
                             * @enum {unknown}
                             */
                            kind: "human" | "tool_approval" | "review";
                            /** @description The data given with the decision (null without) */
                            response: unknown;
                            role: string | null;
                            run_id: string;
                            /** @enum {unknown} */
                            status: "open" | "completed" | "expired" | "cancelled";
                            step_id: string;
                            title: string;
                            /** Format: date-time */
                            updated_at: string;
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tasks/{id}/complete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Decide an open task (approve, reject, or submit the form's data); its run resumes
         * @description Requires scope `tasks:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: {
                    /** @description 1–256 characters; repeating the same decision with the same key returns the decided task again */
                    "idempotency-key"?: string;
                };
                path: {
                    /** @description Task id */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Kept with the decision and in the step output */
                        comment?: string;
                        /** @description The form data (submit) */
                        data?: unknown;
                        /**
                         * @description submit: data is checked against the form schema
                         * @enum {unknown}
                         */
                        decision: "approve" | "reject" | "submit";
                    };
                };
            };
            responses: {
                /** @description The decided task */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            assignees: string[] | null;
                            comment: string | null;
                            /** @description What the reviewer needs to see (a tool call and its arguments, an agent output, …) */
                            context: unknown;
                            /** Format: date-time */
                            created_at: string;
                            decided_at: string | null;
                            decided_by: string | null;
                            decision: ("approve" | "reject" | "submit" | "timed_out") | null;
                            due_at: string | null;
                            /** @description How many times the task was escalated after its timeout */
                            escalations: number;
                            form_schema: {
                                [key: string]: unknown;
                            } | null;
                            id: string;
                            instructions: string | null;
                            /**
                             * @description human: a human step; tool_approval: an agent tool call waiting for approval; review: an agent output below its confidence threshold
                             * @enum {unknown}
                             */
                            kind: "human" | "tool_approval" | "review";
                            /** @description The data given with the decision (null without) */
                            response: unknown;
                            role: string | null;
                            run_id: string;
                            /** @enum {unknown} */
                            status: "open" | "completed" | "expired" | "cancelled";
                            step_id: string;
                            title: string;
                            /** Format: date-time */
                            updated_at: string;
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded`, `invalid_idempotency_key` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `conflict`, `resource_locked`, `idempotency_conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tools": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The MCP tool servers: state, and their tools as last listed (name, function name, description, input schema, approval, disabled)
         * @description Requires scope `tools:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                disabled_reason?: string;
                                last_error?: string;
                                name: string;
                                pid?: number;
                                restarts: number;
                                /** @enum {unknown} */
                                state: "idle" | "connected" | "failed" | "disabled";
                                /** @description The tools as last listed, and disabled tools the listing lacks */
                                tool_list: {
                                    description?: string;
                                    /** @description An operator disabled this tool fleet-wide */
                                    disabled: boolean;
                                    disabled_reason?: string;
                                    /** @description The function name models are offered (`<server>__<tool>`, rewritten when providers would refuse it) */
                                    function_name: string;
                                    /** @description The tool's JSON Schema of its arguments (absent for a disabled tool not listed yet) */
                                    input_schema?: {
                                        [key: string]: unknown;
                                    };
                                    /** @description The server's name of the tool */
                                    name: string;
                                    /** @description An agent's calls wait for a person's approval (`require_approval`) */
                                    require_approval: boolean;
                                }[];
                                /** @description Tools exposed after `allow`, as last listed (0 before the first listing) */
                                tools: number;
                                /** @enum {unknown} */
                                transport: "stdio" | "http";
                            }[];
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tools/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One MCP tool server with its tools listed now (connecting it when it is not; a disabled one is not)
         * @description Requires scope `tools:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description Tool server name (tools/<name>.yaml) */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            disabled_reason?: string;
                            last_error?: string;
                            name: string;
                            pid?: number;
                            restarts: number;
                            /** @enum {unknown} */
                            state: "idle" | "connected" | "failed" | "disabled";
                            /** @description The tools as last listed, and disabled tools the listing lacks */
                            tool_list: {
                                description?: string;
                                /** @description An operator disabled this tool fleet-wide */
                                disabled: boolean;
                                disabled_reason?: string;
                                /** @description The function name models are offered (`<server>__<tool>`, rewritten when providers would refuse it) */
                                function_name: string;
                                /** @description The tool's JSON Schema of its arguments (absent for a disabled tool not listed yet) */
                                input_schema?: {
                                    [key: string]: unknown;
                                };
                                /** @description The server's name of the tool */
                                name: string;
                                /** @description An agent's calls wait for a person's approval (`require_approval`) */
                                require_approval: boolean;
                            }[];
                            /** @description Tools exposed after `allow`, as last listed (0 before the first listing) */
                            tools: number;
                            /** @enum {unknown} */
                            transport: "stdio" | "http";
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tools/{name}/disable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Disable a tool server or one tool on every process: its calls fail fast with tool_disabled until it is enabled (kept across restarts)
         * @description Requires scope `tools:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description A tool server (`crm`), or one tool of it (`crm.delete_customer`) */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Why (shown in tool_disabled errors, GET /v1/tools and the audit log) */
                        reason: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            disabled_reason?: string;
                            last_error?: string;
                            name: string;
                            pid?: number;
                            restarts: number;
                            /** @enum {unknown} */
                            state: "idle" | "connected" | "failed" | "disabled";
                            /** @description The tools as last listed, and disabled tools the listing lacks */
                            tool_list: {
                                description?: string;
                                /** @description An operator disabled this tool fleet-wide */
                                disabled: boolean;
                                disabled_reason?: string;
                                /** @description The function name models are offered (`<server>__<tool>`, rewritten when providers would refuse it) */
                                function_name: string;
                                /** @description The tool's JSON Schema of its arguments (absent for a disabled tool not listed yet) */
                                input_schema?: {
                                    [key: string]: unknown;
                                };
                                /** @description The server's name of the tool */
                                name: string;
                                /** @description An agent's calls wait for a person's approval (`require_approval`) */
                                require_approval: boolean;
                            }[];
                            /** @description Tools exposed after `allow`, as last listed (0 before the first listing) */
                            tools: number;
                            /** @enum {unknown} */
                            transport: "stdio" | "http";
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tools/{name}/enable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Enable a disabled tool server or tool on every process (a server also gets its used-up restart budget reset)
         * @description Requires scope `tools:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path: {
                    /** @description A tool server (`crm`), or one tool of it (`crm.delete_customer`) */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            disabled_reason?: string;
                            last_error?: string;
                            name: string;
                            pid?: number;
                            restarts: number;
                            /** @enum {unknown} */
                            state: "idle" | "connected" | "failed" | "disabled";
                            /** @description The tools as last listed, and disabled tools the listing lacks */
                            tool_list: {
                                description?: string;
                                /** @description An operator disabled this tool fleet-wide */
                                disabled: boolean;
                                disabled_reason?: string;
                                /** @description The function name models are offered (`<server>__<tool>`, rewritten when providers would refuse it) */
                                function_name: string;
                                /** @description The tool's JSON Schema of its arguments (absent for a disabled tool not listed yet) */
                                input_schema?: {
                                    [key: string]: unknown;
                                };
                                /** @description The server's name of the tool */
                                name: string;
                                /** @description An agent's calls wait for a person's approval (`require_approval`) */
                                require_approval: boolean;
                            }[];
                            /** @description Tools exposed after `allow`, as last listed (0 before the first listing) */
                            tools: number;
                            /** @enum {unknown} */
                            transport: "stdio" | "http";
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * LLM tokens, cost and calls by tenant, workflow, model group, model and UTC day
         * @description Requires scope `usage:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description First UTC day (YYYY-MM-DD), inclusive */
                    from?: string;
                    run_id?: string;
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                    /** @description Last UTC day (YYYY-MM-DD), inclusive */
                    to?: string;
                    workflow?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** @description Of input_tokens, those read from the provider's prompt cache (priced cached_input_per_mtok) */
                                cached_input_tokens: number;
                                /** @description Attempts recorded (ok, error, cancelled and refused by a budget) */
                                calls: number;
                                cost_usd: number;
                                /** @description UTC day, YYYY-MM-DD */
                                day: string;
                                input_tokens: number;
                                /** @description The upstream model */
                                model: string;
                                model_group: string;
                                output_tokens: number;
                                /** @description Of output_tokens, those spent reasoning */
                                reasoning_tokens: number;
                                tenant_id: string;
                                /** @description Null for calls made outside a workflow */
                                workflow: string | null;
                            }[];
                            /** UsageReportTotals */
                            totals: {
                                /** @description Of input_tokens, those read from the provider's prompt cache (priced cached_input_per_mtok) */
                                cached_input_tokens: number;
                                /** @description Attempts recorded (ok, error, cancelled and refused by a budget) */
                                calls: number;
                                cost_usd: number;
                                input_tokens: number;
                                output_tokens: number;
                                /** @description Of output_tokens, those spent reasoning */
                                reasoning_tokens: number;
                            };
                        };
                    };
                };
                /** @description `invalid_request` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/usage/budgets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The state of the caller's tenant's LLM budgets: limit, spent and reserved, per day and month
         * @description Requires scope `usage:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description The tenant's budgets, then its workflows' (only those with a limit) */
                            budgets: {
                                limit_tokens: number | null;
                                limit_usd: number | null;
                                period: "day" | "month";
                                reserved_tokens: number;
                                /** @description Worst cases of calls in flight (any process) */
                                reserved_usd: number;
                                /** @description When the next period starts (ISO 8601, UTC) */
                                resets_at: string;
                                scope: "tenant" | "workflow";
                                spent_tokens: number;
                                /** @description Recorded calls in the period */
                                spent_usd: number;
                                /** @description The current period: UTC day YYYY-MM-DD, or UTC month YYYY-MM */
                                window: string;
                                workflow: string | null;
                            }[];
                            tenant_id: string;
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/workflows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the workflows this server can start
         * @description Requires scope `specs:read`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                /** @description True for a workflow of Agentry itself (`agentry-smoke`, `agentry-smoke-review`, which `agentry smoke` starts), present in every deployment */
                                builtin: boolean;
                                description: string | null;
                                file: string | null;
                                /** @description JSON Schema of the run input, or null */
                                input_schema: unknown;
                                name: string;
                                spec_hash: string;
                                steps: {
                                    /** @description True for a step with `for_each`: its items are listed by `GET /v1/runs/{id}/steps/{step}/items` */
                                    for_each: boolean;
                                    id: string;
                                    kind: string;
                                    needs: string[];
                                }[];
                            }[];
                        };
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/workflows/{name}/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a run of a workflow
         * @description Requires scope `runs:write`.
         */
        post: {
            parameters: {
                query?: {
                    /** @description Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`. */
                    tenant?: string;
                    /** @description Block until the run ends, at most this long (e.g. 30s; capped at 120s); 200 when it ended, 202 when not yet */
                    wait?: string;
                };
                header?: {
                    /** @description 1–256 characters; the same key with the same request returns the first run */
                    "idempotency-key"?: string;
                };
                path: {
                    /** @description Workflow name */
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Run input (validated against the workflow's input schema); default {} */
                        input?: unknown;
                        /** @description Higher runs first; default 0 */
                        priority?: number;
                    };
                };
            };
            responses: {
                /** @description With ?wait=: the run ended */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at: string;
                            created_by: string | null;
                            deadline_at: string | null;
                            error: {
                                code: string;
                                details?: unknown;
                                message: string;
                                retryable?: boolean;
                            } | null;
                            finished_at: string | null;
                            id: string;
                            input: unknown;
                            last_event_seq: number;
                            output: unknown;
                            parent: {
                                run_id: string;
                                step_id: string;
                            } | null;
                            priority: number;
                            retry_of: string | null;
                            spec_hash: string;
                            started_at: string | null;
                            /** @enum {unknown} */
                            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                            tenant_id: string;
                            trace_id: string | null;
                            /** Format: date-time */
                            updated_at: string;
                            workflow: string;
                        };
                    };
                };
                /** @description The run was created (or replayed for the same Idempotency-Key) */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at: string;
                            created_by: string | null;
                            deadline_at: string | null;
                            error: {
                                code: string;
                                details?: unknown;
                                message: string;
                                retryable?: boolean;
                            } | null;
                            finished_at: string | null;
                            id: string;
                            input: unknown;
                            last_event_seq: number;
                            output: unknown;
                            parent: {
                                run_id: string;
                                step_id: string;
                            } | null;
                            priority: number;
                            retry_of: string | null;
                            spec_hash: string;
                            started_at: string | null;
                            /** @enum {unknown} */
                            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                            tenant_id: string;
                            trace_id: string | null;
                            /** Format: date-time */
                            updated_at: string;
                            workflow: string;
                        };
                    };
                };
                /** @description With ?wait=: the run had not ended when the wait passed */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at: string;
                            created_by: string | null;
                            deadline_at: string | null;
                            error: {
                                code: string;
                                details?: unknown;
                                message: string;
                                retryable?: boolean;
                            } | null;
                            finished_at: string | null;
                            id: string;
                            input: unknown;
                            last_event_seq: number;
                            output: unknown;
                            parent: {
                                run_id: string;
                                step_id: string;
                            } | null;
                            priority: number;
                            retry_of: string | null;
                            spec_hash: string;
                            started_at: string | null;
                            /** @enum {unknown} */
                            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled" | "timed_out";
                            tenant_id: string;
                            trace_id: string | null;
                            /** Format: date-time */
                            updated_at: string;
                            workflow: string;
                        };
                    };
                };
                /** @description `invalid_request`, `limit_exceeded`, `input_invalid`, `invalid_idempotency_key` */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unauthorized` */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `forbidden` */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `not_found` */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `idempotency_conflict` */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `payload_too_large` */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `unsupported_media_type` */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `rate_limited`, `quota_exceeded` */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `internal` */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description `auth_unavailable`, `maintenance_quiesced` */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** AnthropicError */
        AnthropicError: {
            error: {
                details: {
                    /** @description Agentry's stable code (docs/errors.md) */
                    error_code: string;
                };
                message: string;
                /** @description Anthropic's error type: invalid_request_error, authentication_error, rate_limit_error, api_error … */
                type: string;
            };
            request_id: string;
            /** @enum {string} */
            type: "error";
        };
        /** Problem */
        Problem: {
            /** @description Stable error code (see docs/errors.md) */
            code: string;
            detail: string;
            /** @description What was exceeded (`quota_exceeded`: tenant, quota, limit, current; `rate_limited`: limit (key or tenant), tenant, requests_per_minute, burst) */
            details?: {
                [key: string]: unknown;
            };
            /** @description OpenAI-style error object (the gateway's OpenAI-compatible routes only), so OpenAI clients show the detail; a provider's client error (400, 404, 422 …) is passed on as the provider sent it, with its status */
            error?: {
                code: string | null;
                message: string;
                /** @description The request field at fault, when one is */
                param: string | null;
                type: string;
            };
            /** @description Validation problems, one per field */
            errors?: unknown[];
            request_id: string;
            status: number;
            title: string;
            /** @description URI naming the error code: urn:agentry:error:<code> */
            type: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
