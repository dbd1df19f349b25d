package engine

func planHotspots(_ *compiler, a *tfCall) (*streamDef, func(*Instance, func(Row, *env)) runner, error) {
	return nil, nil, errAt(a.call, "HOTSPOTS is not supported yet")
}
