/*
 * Why this file exists: mediasoup links this subproject's libraries with link_whole, which
 * needs a static library built here, while the real code comes from the system library through
 * the subproject's dependency. Meson deprecates static libraries without sources, so the
 * placeholder libraries are built from this file, which defines nothing.
 */
typedef int meetopia_placeholder_t;
