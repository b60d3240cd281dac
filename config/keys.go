package config

import "fmt"

// RetiredKeyConfig is one [[keys.retired]]: a team key rotated out. It
// still decrypts reports and stored copies encrypted to it, and a data key
// still wrapped to it (which is then re-wrapped to the current key);
// nothing new is encrypted to it and it is not published.
type RetiredKeyConfig struct {
	KeyFile string `toml:"key_file"` // armored secret key, mode 0600
	// PassphraseFile unlocks it; empty: the current key's passphrase
	// ([keys] passphrase_file or passphrase_env), or none if it has none.
	PassphraseFile string `toml:"passphrase_file"`
}

func (c *Config) validateRetiredKeys(s *problemSink) {
	if len(c.Keys.Retired) > 0 && c.Keys.TeamKeyFile == "" {
		s.add("keys.retired", "needs [keys] team_key_file: retired keys only decrypt, the current key is the one reporters use")
	}
	seen := map[string]bool{c.Resolve(c.Keys.TeamKeyFile): true}
	for i, r := range c.Keys.Retired {
		key := fmt.Sprintf("keys.retired[%d].key_file", i)
		switch {
		case r.KeyFile == "":
			s.add(key, "required: the armored secret key of the retired team key")
		case seen[c.Resolve(r.KeyFile)]:
			s.add(key, "%s is named twice (as the current key or as another retired key)", r.KeyFile)
		}
		seen[c.Resolve(r.KeyFile)] = true
	}
}
