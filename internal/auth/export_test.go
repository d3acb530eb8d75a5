package auth

import "github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

func ReplaceHintsZero() cache.ReplaceHints { return cache.ReplaceHints{} }
func ExportHintsZero() cache.ExportHints   { return cache.ExportHints{} }
