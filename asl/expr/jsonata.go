package expr

// CompileJSONataTemplateField is a placeholder until JSONata lands.
func CompileJSONataTemplateField(v any, field string) (*Template, error) {
	return nil, &CompileError{Msg: "JSONata is not implemented yet", Offset: -1}
}
