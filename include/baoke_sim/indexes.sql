-- Secondary indexes of the world store, for the feed servers' listings. Built after a
-- bulk generation (sorting once is far cheaper than maintaining them row by row).
create index if not exists dms_versions_listing on dms_versions (entity, dealer_code, updated_at, pk);
create index if not exists dms_versions_visible on dms_versions (entity, visible_at);
-- Listings without dealer_code (dealers, group-wide campaigns) page in time order.
create index if not exists dms_versions_by_time on dms_versions (entity, updated_at, pk);
