#!/usr/bin/env bash
# Start the server (cargo run --release -p etag-examples --bin products), then run this.
# Every request prints its status as "=> STATUS"; some print the whole response too (-i).
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:3000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
json='Content-Type: application/json'

# 1. Create a product: 201 Created, with its URL in Location.
curl -s -o /dev/null -D "$work/headers" -w '=> %{http_code}\n' -H "$json" \
  -d '{"name": "Wireless Mouse", "price": 29.99}' "$BASE/products"
product="$BASE$(grep -i '^location:' "$work/headers" | cut -d' ' -f2 | tr -d '\r')"

# 2. Read it and save its ETag: 200, with ETag, Last-Modified and Cache-Control: no-cache.
curl -si --etag-save "$work/etag" -w '\n=> %{http_code}\n' "$product"

# 3. Read it again with the saved ETag (curl sends If-None-Match): 304 Not Modified, no body.
curl -si --etag-compare "$work/etag" -w '=> %{http_code}\n' "$product"

# 4. A change that does not say which version it was made to: 428 Precondition Required.
curl -s -o /dev/null -w '=> %{http_code}\n' -X PUT -H "$json" \
  -d '{"name": "Wireless Mouse", "price": 24.99}' "$product"

# 5. The same change made to the version we saved (If-Match): 200, version 2, a new ETag.
curl -si -X PUT -H "$json" -H "If-Match: $(cat "$work/etag")" \
  -d '{"name": "Wireless Mouse", "price": 24.99}' -w '\n=> %{http_code}\n' "$product"

# 6. Someone else, still holding the old ETag, sends a change: 412 Precondition Failed.
#    Their change does not overwrite ours; they must read the product again.
curl -s -o /dev/null -w '=> %{http_code}\n' -X PUT -H "$json" -H "If-Match: $(cat "$work/etag")" \
  -d '{"name": "Wireless Mouse", "price": 27.50}' "$product"

# 7. Reading with the old ETag now gets the new version (200); save its ETag.
curl -s -o /dev/null -w '=> %{http_code}\n' \
  --etag-compare "$work/etag" --etag-save "$work/etag" "$product"

# 8. Change one field with a JSON merge patch: 200, version 3; save the new ETag.
curl -si -X PATCH -H 'Content-Type: application/merge-patch+json' \
  -H "If-Match: $(cat "$work/etag")" --etag-save "$work/etag" \
  -d '{"price": 19.99}' -w '\n=> %{http_code}\n' "$product"

# 9. Wait up to 2 seconds for a change to the version we have (Prefer: wait, RFC 7240):
#    nobody writes, so 304 after 2 seconds, with Preference-Applied: wait=2. A write in
#    the meantime would have answered it at once, with the new version (200).
curl -si -H 'Prefer: wait=2' -H "If-None-Match: $(cat "$work/etag")" \
  -w '=> %{http_code}\n' "$product"

# 10. The list (its first page) has its own ETag, which changes when a product on it does:
#    200, then 304.
curl -s -o /dev/null -w '=> %{http_code}\n' --etag-save "$work/list-etag" "$BASE/products"
curl -s -o /dev/null -w '=> %{http_code}\n' --etag-compare "$work/list-etag" "$BASE/products"

# 11. Delete the version we have: 204 No Content; then the product is gone: 404.
curl -s -o /dev/null -w '=> %{http_code}\n' -X DELETE -H "If-Match: $(cat "$work/etag")" "$product"
curl -s -o /dev/null -w '=> %{http_code}\n' "$product"

# 12. The product left the list's first page, so the saved ETag no longer matches: 200.
curl -s -o /dev/null -w '=> %{http_code}\n' --etag-compare "$work/list-etag" "$BASE/products"
