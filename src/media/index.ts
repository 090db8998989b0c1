// Uploaded images: the module's public surface (import from here, not from its files).
// An upload is sniffed from its bytes (never the file name), bounded in bytes and pixels, stripped of
// EXIF/metadata (orientation applied), stored under a content-hashed key with responsive renditions
// (several widths; AVIF and WebP plus the original format) made by sharp, and recorded as a Media row
// (one row per distinct image: the same bytes uploaded twice are one item). Files are served from
// /media/<key> with immutable caching (the key changes when the bytes do).
//
//   images.ts   checks and sharp: sniffing, limits, the original, renditions
//   keys.ts     the storage keys' shape (content-hashed) and its strict check
//   storage.ts  the storage interface and its disk backend (DATA_DIR/media; where an S3 one would go)
//   service.ts  saveUpload and the lookups (getMedia, mediaForIds, mediaByUrls)
//   html.ts     <picture>, og:image URL, the Markdown of an item
//   routes.ts   GET /media/<key> (media:file) and POST /admin/media/upload/ (media:upload)
export type { MediaItem, Rendition, RenditionFormat } from "./types.ts";
export { UploadRefused, MediaStorageError } from "./types.ts";
export { saveUpload, getMedia, mediaForIds, mediaByUrls, keyOfUrl, toMediaItem, MEDIA_SELECT } from "./service.ts";
export { escapeHtml, mediaUrl, pictureHtml, socialImageUrl, displayUrl, markdownFor, baseRenditions, type PictureOptions } from "./html.ts";
export { mediaStorage, type MediaStorage, type StoredFile } from "./storage.ts";
export { isMediaKey, parseMediaKey } from "./keys.ts";
