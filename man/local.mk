# Core man pages. Module pages are listed in each module's fragment.
dist_man_MANS += man/man3/ztp.3
