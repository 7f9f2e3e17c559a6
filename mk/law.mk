# make law-check: every CSS article cited by internal/legal/params and docs/rules.md, checked
# against DILA's consolidated Code de la sécurité sociale (docs/law-check.md). The code comes
# from the npm package @socialgouv/legi-data, pinned by version and by the sha512 of its
# tarball; it is fetched once into .tmp/legi/ (npm pack, ~13 MB) and reused offline.
LEGI_DATA_VERSION   := 2.513.0
# `npm view @socialgouv/legi-data@2.513.0 dist.integrity`, checked against the tarball npm gave.
LEGI_DATA_INTEGRITY := sha512-YaBJPF39Ic/EKdBq+gCagjPJdHeqA1Fpa5lHKEn3G7za/j9ZENRqMKcenntnNBUXFvrVA+fSXVfpi4gQr228UA==
LEGI_DIR            := .tmp/legi
LEGI_TGZ            := $(LEGI_DIR)/socialgouv-legi-data-$(LEGI_DATA_VERSION).tgz
# Code de la sécurité sociale, as consolidated on 2026-03-14 in this version.
LEGI_CSS            := $(LEGI_DIR)/package/data/LEGITEXT000006073189.json

# sha512 of a file in npm's integrity form (node comes with npm).
legi_integrity = node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' $(1)

$(LEGI_TGZ):
	mkdir -p $(LEGI_DIR)
	npm pack --silent --pack-destination $(LEGI_DIR) @socialgouv/legi-data@$(LEGI_DATA_VERSION) >/dev/null

# Unpacked only from a tarball whose sha512 is the pinned one; a wrong tarball is removed.
$(LEGI_CSS): $(LEGI_TGZ)
	@got=$$($(call legi_integrity,$(LEGI_TGZ))); \
	if [ "$$got" != "$(LEGI_DATA_INTEGRITY)" ]; then \
		echo "$(LEGI_TGZ): integrity $$got, want $(LEGI_DATA_INTEGRITY): removed"; rm -f $(LEGI_TGZ); exit 1; \
	fi
	rm -rf $(LEGI_DIR)/package
	tar xzf $(LEGI_TGZ) -C $(LEGI_DIR) package/data/LEGITEXT000006073189.json package/package.json
	touch $@

# LAW_CHECK_FLAGS=-v also lists what is not checked (decrees, other codes, former numbers).
law-check: $(LEGI_CSS) ## verify every cited CSS article against the official consolidated code
	go build -o .tmp/bin/lawcheck ./cmd/lawcheck
	.tmp/bin/lawcheck -code $(LEGI_CSS) -params internal/legal/params -rules docs/rules.md $(LAW_CHECK_FLAGS)

.PHONY: law-check
