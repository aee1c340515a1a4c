# A text corpus: long sentences stay on one line.
# ruff: noqa: E501, SIM905
"""Reference data and text corpora for the `seed_demo` management command.

Everything here is fictitious. Email addresses use the reserved example.* domains so that no
demo notification can ever reach a real mailbox. Templates use str.format placeholders:
{item} item reference, {product} product name, {order} an order number, {n} a small count,
{minutes} a number of minutes, {days} a number of days, {hours} a number of hours, {cm} a length, {amount} a sum of money,
{date} a date before the complaint was received.
"""

# Departments: (code, Chinese name, English name, parent code, number of handlers). Customer
# Service leads complaint handling: it records and acknowledges complaints and owns the
# general categories.
DEPARTMENTS = [
    ("cs", "客户服务部", "Customer Service", None, 6),
    ("property", "物业管理部", "Property Management", "cs", 4),
    ("billing", "账务部", "Billing", "cs", 3),
    ("engineering", "工程部", "Engineering", None, 4),
    ("quality", "质量管理部", "Quality", "engineering", 3),
    ("sales", "销售部", "Sales", None, 3),
    ("logistics", "物流部", "Logistics", "sales", 3),
    ("legal", "法务部", "Legal", None, 2),
]
LEAD_DEPARTMENT = "cs"
LEGAL_DEPARTMENT = "legal"

# Category tree: (code, (Chinese name, English name), default department, children). Children
# are (code, names, default department, weight, item kind); a childless top-level node carries its
# own weight and item kind. Item kinds: unit, order, sku, mixed (unit, order or none), none.
CATEGORIES = [
    (
        "design",
        ("设计", "Design"),
        "engineering",
        [
            (
                "design-layout",
                ("户型与平面布局", "Layout and floor plan"),
                "engineering",
                3,
                "unit",
            ),
            (
                "design-spec",
                ("材料与交付标准", "Materials and specification"),
                "engineering",
                2,
                "unit",
            ),
        ],
    ),
    (
        "construction",
        ("工程施工质量", "Engineering / construction quality"),
        "engineering",
        [
            (
                "construction-leak",
                ("渗漏与防水", "Leaks and waterproofing"),
                "engineering",
                7,
                "unit",
            ),
            (
                "construction-cracks",
                ("裂缝与结构", "Cracks and structure"),
                "engineering",
                3,
                "unit",
            ),
            ("construction-finish", ("装修瑕疵", "Finishing defects"), "quality", 5, "unit"),
        ],
    ),
    (
        "sales",
        ("销售", "Sales"),
        "sales",
        [
            ("sales-promise", ("销售承诺不实", "Misleading sales promises"), "sales", 3, "unit"),
            ("sales-contract", ("合同与手续", "Contract and paperwork"), "sales", 2, "mixed"),
        ],
    ),
    (
        "service",
        ("服务", "Service"),
        "cs",
        [
            ("service-cs", ("客户服务", "Customer service"), "cs", 6, "mixed"),
            ("service-property", ("物业管理", "Property management"), "property", 9, "unit"),
        ],
    ),
    (
        "delivery",
        ("配送 / 物流延误", "Delivery / logistics delay"),
        "logistics",
        [
            ("delivery-late", ("配送延迟", "Late delivery"), "logistics", 10, "order"),
            ("delivery-damaged", ("运输破损", "Damaged in transit"), "logistics", 4, "order"),
            ("delivery-handover", ("延期交房", "Property handover delay"), "sales", 2, "unit"),
        ],
    ),
    (
        "billing",
        ("价格 / 收费", "Pricing / billing"),
        "billing",
        [
            ("billing-wrong", ("收费错误", "Incorrect charge"), "billing", 7, "mixed"),
            ("billing-refund", ("退款延迟", "Refund delay"), "billing", 5, "order"),
        ],
    ),
    (
        "product",
        ("产品质量", "Product quality"),
        "quality",
        [
            ("product-defect", ("产品缺陷", "Defective product"), "quality", 10, "sku"),
            ("product-safety", ("安全隐患", "Safety concern"), "quality", 1, "sku"),
        ],
    ),
    ("staff", ("员工态度", "Staff attitude"), "cs", 5, "mixed"),
    ("communication", ("沟通", "Communication"), "cs", 4, "mixed"),
    ("other", ("其他", "Other"), "cs", 2, "none"),
]

PRODUCTS = [
    ("RC20", "智能电饭煲", "smart rice cooker"),
    ("AF35", "空气炸锅", "air fryer"),
    ("WP12", "净水器", "water purifier"),
    ("DW08", "洗碗机", "dishwasher"),
    ("HD40", "吹风机", "hair dryer"),
    ("VC70", "扫地机器人", "robot vacuum"),
    ("KT15", "电热水壶", "electric kettle"),
    ("AC26", "变频空调", "inverter air conditioner"),
    ("FR50", "双门冰箱", "fridge-freezer"),
    ("WM90", "滚筒洗衣机", "front-loading washing machine"),
    ("SL03", "智能门锁", "smart door lock"),
    ("MW23", "微波炉", "microwave oven"),
    ("EH60", "电热水器", "electric water heater"),
    ("LP18", "护眼台灯", "desk lamp"),
    ("MT11", "床垫", "mattress"),
    ("SF32", "布艺沙发", "fabric sofa"),
]

# Per category: subjects and descriptions in Chinese and English; subjects[i] goes with
# details[i].
TOPICS = {
    "design-layout": {
        "zh_subjects": [
            "{item} 实际户型与样板间不符",
            "{item} 客厅多出一根柱子，合同图纸上没有",
            "{item} 厨房面积比合同附图小",
        ],
        "en_subjects": [
            "Layout of {item} differs from the show flat",
            "Column in the living room of {item} not on the sales plan",
            "Kitchen in {item} smaller than on the contract drawing",
        ],
        "zh_details": [
            "收房时发现{item}的实际户型和样板间差别很大，次卧窗户的位置被移动了，原来设计的衣柜放不下。",
            "合同附图上客厅是完整的开间，现场却多出一根约{cm}厘米宽的柱子，家具完全没法按原计划摆放。",
            "厨房实测比合同附图少了将近一平方米，定做好的橱柜装不进去。",
        ],
        "en_details": [
            "At handover we found that {item} does not match the show flat: the second bedroom window has been moved and the planned wardrobe no longer fits.",
            "The contract drawing shows an open living room, but there is a column about {cm} cm wide in it, so our furniture plan is useless.",
            "The kitchen measures almost one square metre less than on the contract drawing and the made-to-measure cabinets do not fit.",
        ],
    },
    "design-spec": {
        "zh_subjects": [
            "{item} 精装修材料品牌被降级",
            "{item} 窗户玻璃不是宣传的三层中空玻璃",
            "{item} 地板与交付标准不一致",
        ],
        "en_subjects": [
            "Cheaper fittings installed in {item} than specified",
            "Windows in {item} are not the advertised triple glazing",
            "Flooring in {item} does not match the delivery standard",
        ],
        "zh_details": [
            "交付标准写的是进口品牌卫浴，{item}实际安装的是不知名的杂牌，做工明显粗糙。",
            "销售宣传时说全部是三层中空玻璃，收房后发现{item}只有双层，噪音很大。",
            "合同约定实木复合地板，实际铺的是强化地板，颜色也和样板间不一样。",
        ],
        "en_details": [
            "The delivery standard promised branded sanitary ware; {item} has an unknown brand with obviously poor workmanship.",
            "Sales told us every window is triple glazed; {item} only has double glazing and the traffic noise is terrible.",
            "The contract specifies engineered wood flooring, but laminate was laid, in a different colour from the show flat.",
        ],
    },
    "construction-leak": {
        "zh_subjects": [
            "{item} 卫生间漏水到楼下",
            "{item} 外墙渗水，卧室墙面发霉",
            "{item} 阳台下雨就积水倒灌",
            "{item} 天花板漏水",
        ],
        "en_subjects": [
            "Bathroom in {item} leaking into the flat below",
            "Water coming through the outside wall of {item}",
            "Balcony of {item} floods every time it rains",
            "Ceiling leak in {item}",
        ],
        "zh_details": [
            "{item}卫生间地面防水没做好，楼下邻居天花板已经湿了一大片，物业来看过说是防水层问题。",
            "最近连续下雨，{item}主卧外墙渗水，墙皮起泡脱落，墙角已经发霉，孩子一直咳嗽。",
            "每次下大雨阳台地漏来不及排水，雨水倒灌进客厅，木地板已经泡坏了{n}块。",
            "天花板从{date}开始滴水，用盆接了{days}天了，灯具附近也在渗水，担心漏电。",
        ],
        "en_details": [
            "The waterproofing under the bathroom floor of {item} has failed; the ceiling of the flat below is soaked. Property management says it is the membrane.",
            "After a week of rain the outside wall of the master bedroom in {item} lets water in; paint is blistering and there is mould in the corner.",
            "Whenever it rains hard the balcony drain cannot cope and water runs into the living room; {n} floorboards are already ruined.",
            "The ceiling has been dripping since {date}; we have had a bucket under it for {days} days and water is now near the light fitting.",
        ],
    },
    "construction-cracks": {
        "zh_subjects": [
            "{item} 墙体出现多条裂缝",
            "{item} 楼板裂缝是否影响结构安全",
            "{item} 地面空鼓开裂",
        ],
        "en_subjects": [
            "Several cracks in the walls of {item}",
            "Crack in the floor slab of {item}: is it safe?",
            "Hollow and cracked floor tiles in {item}",
        ],
        "zh_details": [
            "入住不到一年，{item}客厅和卧室墙上出现了{n}条裂缝，最长的有一米多，而且还在变宽。",
            "楼板上有一条贯穿的裂缝，楼下也能看到，我们非常担心房子的结构安全，请给出检测报告。",
            "客厅地砖大面积空鼓，敲起来是空的，已经有几块开裂翘起。",
        ],
        "en_details": [
            "Less than a year after moving in there are {n} cracks in the living room and bedroom walls of {item}; the longest is over a metre and getting wider.",
            "There is a crack right through the floor slab that can be seen from the flat below. We are worried about the structure and want an inspection report.",
            "Many living-room floor tiles sound hollow and several have cracked and lifted.",
        ],
    },
    "construction-finish": {
        "zh_subjects": [
            "{item} 精装修质量差，多处返工",
            "{item} 门窗关不严",
            "{item} 墙面不平、乳胶漆开裂",
        ],
        "en_subjects": [
            "Poor finishing in {item}, many defects",
            "Doors and windows of {item} do not close properly",
            "Uneven walls and cracked paint in {item}",
        ],
        "zh_details": [
            "验房时发现{item}有{n}处问题：瓷砖缝不齐、踢脚线松动、柜门变形，已经报修两次都没修好。",
            "入户门和两扇窗户关不严，冬天冷风直接灌进来，门框明显歪斜。",
            "墙面用靠尺一量偏差超过{cm}毫米，乳胶漆大面积开裂，完全不像精装修交付。",
        ],
        "en_details": [
            "The inspection of {item} found {n} defects: uneven tile joints, loose skirting, warped cabinet doors. Reported twice, still not fixed.",
            "The front door and two windows do not close properly; cold air blows straight in and the door frame is visibly crooked.",
            "The walls are out of true by more than {cm} mm and the paint is cracking everywhere. This is not a finished-flat standard.",
        ],
    },
    "sales-promise": {
        "zh_subjects": [
            "销售承诺的学区没有兑现（{item}）",
            "{item} 购房时承诺的车位没有了",
            "置业顾问虚假宣传周边配套",
        ],
        "en_subjects": [
            "School catchment promised when buying {item} not delivered",
            "Parking space promised with {item} is not available",
            "Sales adviser misrepresented local amenities",
        ],
        "zh_details": [
            "购房时置业顾问明确说{item}对口重点小学，现在教育局说根本不在学区内，我们就是冲着学区买的。",
            "签约时说好赠送一个地下车位，现在说车位已经卖完了，只能租，和当初的承诺完全不同。",
            "销售说小区旁边{days}天内会开通地铁站和商场，两年过去了什么都没有。",
        ],
        "en_details": [
            "The sales adviser said clearly that {item} is in the catchment of the key primary school; the education bureau says it is not. That was the reason we bought.",
            "At signing we were promised a free underground parking space; now we are told they are sold out and we can only rent one.",
            "Sales told us a metro station and a shopping centre would open nearby within {days} days. Two years later there is nothing.",
        ],
    },
    "sales-contract": {
        "zh_subjects": [
            "合同条款与口头约定不一致",
            "{item} 发票迟迟未开",
            "不动产权证办理进度太慢",
        ],
        "en_subjects": [
            "Contract terms differ from what was agreed",
            "Still no invoice for {item}",
            "Title certificate for my flat is taking far too long",
        ],
        "zh_details": [
            "签约时销售口头承诺的优惠没有写进合同，现在财务不认，要求补差价¥{amount}。",
            "付款已经{days}天了，{item}的发票还没开出来，公司报销急用。",
            "交房快一年了产权证还没办下来，每次打电话都说在走流程。",
        ],
        "en_details": [
            "The discount the sales adviser promised at signing is not in the contract and finance now wants the difference of ¥{amount}.",
            "I paid {days} days ago and there is still no invoice for {item}; I need it for my company's expense claim.",
            "Almost a year after handover the title certificate has still not been issued; every call we are told it is in process.",
        ],
    },
    "service-cs": {
        "zh_subjects": ["客服热线一直打不通", "在线客服答非所问", "多次反映问题无人跟进"],
        "en_subjects": [
            "Cannot get through to the hotline",
            "Online chat agent did not understand my question",
            "Nobody follows up on my reports",
        ],
        "zh_details": [
            "连续{n}天拨打客服热线，每次排队超过{minutes}分钟后自动挂断。",
            "在线客服一直发模板回复，问了三遍都没有回答我的问题，最后直接结束了对话。",
            "同一个问题我已经反映了{n}次，每次都让我重新描述一遍，没有任何人负责到底。",
        ],
        "en_details": [
            "For {n} days in a row the hotline queue has hung up on me after more than {minutes} minutes.",
            "The chat agent kept pasting canned replies, never answered my question and then closed the chat.",
            "I have reported the same problem {n} times and every time I have to explain it again. Nobody takes ownership.",
        ],
    },
    "service-property": {
        "zh_subjects": [
            "{item} 楼道卫生长期无人打扫",
            "小区电梯频繁故障（{item}所在楼栋）",
            "{item} 报修一周无人上门",
            "物业费上涨但服务没变",
            "小区夜间噪音扰民无人管",
        ],
        "en_subjects": [
            "Stairwell outside {item} not cleaned for weeks",
            "Lift keeps breaking down (building of {item})",
            "Repair request for {item} ignored for a week",
            "Service charge up, service unchanged",
            "Nobody deals with night-time noise on the estate",
        ],
        "zh_details": [
            "楼道垃圾堆了{days}天没人清理，气味很大，还招来了老鼠。",
            "电梯本月已经坏了{n}次，上周还困过人，家里老人只能爬楼梯。",
            "{date}就在物业报修了{item}的水龙头漏水，一直说会安排师傅，到现在也没人来。",
            "今年物业费每平方米涨了{n}毛，但保安、保洁和绿化一点没改善。",
            "小区里的施工和广场舞每天晚上十点以后还在继续，打物业电话没人处理。",
        ],
        "en_details": [
            "Rubbish has been piling up in the stairwell for {days} days; it smells and attracts rats.",
            "The lift has broken down {n} times this month and trapped people last week; my elderly parents have to use the stairs.",
            "I reported a leaking tap in {item} on {date}. They keep saying a technician is coming; nobody has.",
            "The service charge went up this year, but security, cleaning and gardening are no better.",
            "Building work and square dancing continue after 10 pm every night and the property office does nothing.",
        ],
    },
    "delivery-late": {
        "zh_subjects": ["订单{item}超过承诺时间仍未送达", "{product}延迟发货", "送货时间一改再改"],
        "en_subjects": [
            "Order {item} not delivered by the promised date",
            "{product} shipped late",
            "Delivery date changed again and again",
        ],
        "zh_details": [
            "{date}下单的{product}（订单{item}），承诺{n}天内送达，现在已经过去{days}天了，物流信息一直没有更新。",
            "客服说已经发货，但物流单号查不到任何记录，订单{item}至今未收到。",
            "送货师傅约了三次时间都没来，我请了{n}天假在家等，损失谁来承担？",
        ],
        "en_details": [
            "I ordered a {product} on {date} (order {item}) with delivery promised within {n} days. It has been {days} days and tracking has not changed.",
            "Customer service says order {item} has shipped, but the tracking number shows nothing and it has not arrived.",
            "The delivery crew has missed three appointments; I took {n} days off work to wait in. Who pays for that?",
        ],
    },
    "delivery-damaged": {
        "zh_subjects": [
            "收到的{product}外包装破损、机器损坏",
            "订单{item}配送时损坏",
            "送货人员安装时刮花地板",
        ],
        "en_subjects": [
            "{product} arrived damaged",
            "Order {item} damaged in transit",
            "Delivery crew scratched the floor during installation",
        ],
        "zh_details": [
            "订单{item}的{product}送到时外箱已经压扁，打开后发现面板碎裂，当场拍了照片。",
            "签收后开箱发现{product}侧面有明显凹陷，快递员已经走了。",
            "安装师傅拖拽{product}时把新铺的木地板划了一道{cm}厘米长的划痕，当时不承认。",
        ],
        "en_details": [
            "The {product} from order {item} arrived in a crushed box; the front panel is cracked. I took photos on the spot.",
            "After signing for it I found a large dent on the side of the {product}; the courier had already left.",
            "The installers dragged the {product} across my new floor and left a {cm} cm scratch, then denied it.",
        ],
    },
    "delivery-handover": {
        "zh_subjects": [
            "{item} 延期交房",
            "{item} 交房时间一拖再拖，要求赔偿违约金",
            "集中交付现场混乱",
        ],
        "en_subjects": [
            "Handover of {item} delayed",
            "Handover of {item} postponed again: penalty claimed",
            "Chaos on the group handover day",
        ],
        "zh_details": [
            "合同约定{date}交房，现在已经延期{days}天，我们一直在外面租房，每月多花¥{amount}房租。",
            "这是第{n}次通知延期交付了，按合同应按日支付违约金，请给出书面答复。",
            "交房当天排队{hours}个小时，验房人员不够，很多问题没法当场登记。",
        ],
        "en_details": [
            "The contract says handover on {date}; it is now {days} days late and we are paying ¥{amount} a month in rent elsewhere.",
            "We have now had {n} postponement notices. The contract provides a daily penalty for late handover; I want a written answer.",
            "We queued for {hours} hours on handover day; there were not enough inspectors to record the defects we found.",
        ],
    },
    "billing-wrong": {
        "zh_subjects": ["{item} 被重复扣款", "账单金额与合同不符", "未经同意自动续费"],
        "en_subjects": [
            "Charged twice for {item}",
            "Bill does not match the contract",
            "Renewed and charged without my consent",
        ],
        "zh_details": [
            "{date}支付{item}时系统提示失败，我又付了一次，结果银行卡被扣了两笔各¥{amount}。",
            "账单上多出一项¥{amount}的“服务费”，合同里从来没有约定过。",
            "我从来没有开通自动续费，这个月却被扣了¥{amount}，申请退款一直没有回复。",
        ],
        "en_details": [
            "When I paid for {item} on {date} the system said the payment failed, so I paid again. My card was charged ¥{amount} twice.",
            "The bill includes a ¥{amount} 'service fee' that is not in the contract.",
            "I never signed up for automatic renewal but ¥{amount} was taken this month; my refund request has had no answer.",
        ],
    },
    "billing-refund": {
        "zh_subjects": ["订单{item}退款迟迟未到账", "退货后退款金额不对", "取消订单后定金不退"],
        "en_subjects": [
            "Refund for order {item} still not received",
            "Refund amount wrong after return",
            "Deposit not refunded after cancellation",
        ],
        "zh_details": [
            "{date}就已经退货，仓库也签收了，说好{n}个工作日退款，现在{days}天了还没到账。",
            "退货退款只退了¥{amount}，少退了运费和优惠券，客服说系统自动计算的。",
            "因为延迟发货我取消了订单{item}，现在说定金¥{amount}不退，这不合理。",
        ],
        "en_details": [
            "I returned the goods on {date} and the warehouse signed for them. The refund was due in {n} working days; it has been {days} days.",
            "Only ¥{amount} was refunded; shipping and the coupon were deducted and customer service blames the system.",
            "I cancelled order {item} because it was shipped late and now I am told the ¥{amount} deposit is not refundable.",
        ],
    },
    "product-defect": {
        "zh_subjects": [
            "{product}使用{days}天就坏了",
            "新买的{product}有质量问题",
            "{product}噪音异常大",
            "{product}维修后同样问题再次出现",
        ],
        "en_subjects": [
            "{product} broke after {days} days",
            "New {product} is faulty",
            "{product} is extremely noisy",
            "Same fault again after {product} was repaired",
        ],
        "zh_details": [
            "{date}购买的{product}，用了不到{days}天就无法开机，指示灯一直闪烁。",
            "{product}开箱就发现按键失灵，显示屏有坏点，要求换新。",
            "{product}运行时噪音非常大，晚上根本没法睡觉，售后上门看过说是正常的，我不接受。",
            "{product}已经修了{n}次，每次修好用几天又出同样的故障。",
        ],
        "en_details": [
            "The {product} I bought on {date} stopped switching on after less than {days} days; the light just blinks.",
            "Out of the box the {product}'s buttons do not work and the display has dead pixels. I want a replacement.",
            "The {product} is so loud that we cannot sleep; the technician said that is normal. I do not accept that.",
            "The {product} has been repaired {n} times and the same fault comes back after a few days.",
        ],
    },
    "product-safety": {
        "zh_subjects": ["{product}使用时冒烟", "{product}外壳带电", "{product}电源线发烫熔化"],
        "en_subjects": [
            "{product} started smoking during use",
            "Electric shock from the {product} casing",
            "Power cable of {product} overheated and melted",
        ],
        "zh_details": [
            "昨晚使用{product}时突然冒出黑烟并有焦味，幸好家里有人及时拔掉插头，否则后果不堪设想。",
            "孩子摸到{product}的金属外壳被电了一下，家里插座是有接地的，请立即处理并说明原因。",
            "{product}电源线靠近插头的地方发烫熔化，插座也被烧黑了。",
        ],
        "en_details": [
            "Last night the {product} suddenly gave off black smoke and a burning smell; luckily someone unplugged it in time.",
            "My child got an electric shock from the metal casing of the {product}. Our sockets are earthed. Please act now and explain.",
            "The {product}'s power cable melted near the plug and the socket is scorched.",
        ],
    },
    "staff": {
        "zh_subjects": [
            "工作人员态度恶劣",
            "客服人员挂断电话",
            "维修师傅言语不礼貌",
            "保安对业主态度粗暴",
        ],
        "en_subjects": [
            "Rude member of staff",
            "Hotline agent hung up on me",
            "Technician was rude to me",
            "Security guard aggressive towards residents",
        ],
        "zh_details": [
            "{date}在服务中心办理业务时，工作人员全程不耐烦，还说“不会就别来问”。",
            "我在电话里只是问了一下进度，客服就提高嗓门，最后直接挂断了电话。",
            "上门维修的师傅一进门就抱怨，说我们自己弄坏的，还在屋里抽烟。",
            "保安不让我的访客进小区，还推搡了我父亲，当时有{n}个邻居在场可以作证。",
        ],
        "en_details": [
            "At the service centre on {date} the staff member was impatient throughout and said 'if you don't understand, don't ask'.",
            "I only asked about progress on the phone; the agent raised her voice and then hung up.",
            "The technician complained as soon as he arrived, blamed us for the fault and smoked inside our home.",
            "Security refused to let my visitor in and pushed my father; {n} neighbours saw it.",
        ],
    },
    "communication": {
        "zh_subjects": ["承诺回电一直没有回电", "不同部门说法不一致", "通知不及时导致损失"],
        "en_subjects": [
            "Promised call back never came",
            "Different departments tell me different things",
            "Late notice caused me a loss",
        ],
        "zh_details": [
            "{date}客服答应两个工作日内回电，到现在已经{days}天了，没有任何人联系我。",
            "客服说要找工程部，工程部说归物业管，物业又让我找客服，来回踢皮球。",
            "停水通知只提前了{hours}小时发到群里，我们家没人看到，耽误了开业。",
        ],
        "en_details": [
            "On {date} customer service promised a call back within two working days. It has been {days} days and nobody has called.",
            "Customer service sends me to engineering, engineering sends me to property management, and they send me back to customer service.",
            "The water shut-off notice was posted only {hours} hours in advance; we missed it and could not open the shop.",
        ],
    },
    "other": {
        "zh_subjects": ["对活动规则有异议", "会员积分被清零", "投诉建议"],
        "en_subjects": [
            "Disagree with promotion rules",
            "Membership points wiped",
            "Complaint and suggestion",
        ],
        "zh_details": [
            "参加了你们的满减活动，结算时却说不符合条件，活动规则写得很含糊。",
            "我的会员积分{n}千多分突然被清零，没有收到任何提前通知。",
            "希望公司重视客户的意见，不要每次都只是道歉。",
        ],
        "en_details": [
            "I took part in your promotion but at checkout I was told I did not qualify; the rules are vague.",
            "Several thousand membership points disappeared without any warning.",
            "Please take customers' views seriously instead of just apologising every time.",
        ],
    },
}

# Per top-level category: what customers ask for.
OUTCOMES = {
    "design": {
        "zh": ["按合同标准整改", "给予合理补偿", "出具书面说明"],
        "en": [
            "Put it right to the contract standard",
            "Fair compensation",
            "A written explanation",
        ],
    },
    "construction": {
        "zh": ["尽快上门维修", "赔偿楼下邻居的损失", "出具检测报告并彻底整改", "延长保修期"],
        "en": [
            "Repair it as soon as possible",
            "Pay for the damage downstairs",
            "An inspection report and a permanent fix",
            "Extend the warranty",
        ],
    },
    "sales": {
        "zh": ["兑现销售承诺", "退还差价", "书面道歉并处理相关销售人员"],
        "en": [
            "Honour what sales promised",
            "Refund the difference",
            "A written apology and action against the sales adviser",
        ],
    },
    "service": {
        "zh": ["尽快处理", "道歉", "改进服务", "减免部分物业费"],
        "en": [
            "Deal with it quickly",
            "An apology",
            "Better service",
            "A reduction of the service charge",
        ],
    },
    "delivery": {
        "zh": ["尽快送达", "赔偿损失", "退货退款", "按合同支付违约金"],
        "en": ["Deliver it now", "Compensation", "A full refund", "The contractual penalty"],
    },
    "billing": {
        "zh": ["退还多扣款项", "尽快退款", "取消自动续费"],
        "en": ["Refund the overcharge", "Refund now", "Cancel the automatic renewal"],
    },
    "product": {
        "zh": ["换新", "退货退款", "免费维修", "说明原因并排查同批次产品"],
        "en": [
            "A replacement",
            "A refund",
            "Free repair",
            "An explanation and a check of the whole batch",
        ],
    },
    "staff": {
        "zh": ["当事人道歉", "处理相关员工", "换一个人跟进"],
        "en": [
            "An apology from the person",
            "Disciplinary action",
            "Someone else to handle my case",
        ],
    },
    "communication": {
        "zh": ["指定专人负责", "给出明确答复", "提前通知"],
        "en": ["One named contact", "A clear answer", "Proper advance notice"],
    },
    "other": {"zh": ["给个说法", "恢复积分"], "en": ["An explanation", "Restore my points"]},
}

# Solutions and root causes, per category code (a leaf, else its top-level category). The
# solutions may use the complaint's placeholders and {voucher}.
RESOLUTIONS = {
    "design": {
        "zh_solutions": [
            "经设计院复核，按合同附图标准对相关部位进行整改，工期约两周，期间费用由我司承担。",
            "书面说明设计变更原因，并按差异面积给予物业费抵扣补偿。",
        ],
        "en_solutions": [
            "The design institute reviewed the unit; we will rework the affected areas to the contract drawing within about two weeks at our cost.",
            "A written explanation of the design change and a service-charge credit proportional to the difference.",
        ],
        "zh_root_causes": ["施工阶段设计变更未同步到销售资料", "供应商替换材料未经审批"],
        "en_root_causes": [
            "Design change during construction not reflected in sales material",
            "Supplier substituted materials without approval",
        ],
    },
    "construction-leak": {
        "zh_solutions": [
            "安排维修班组上门排查渗漏点，重做防水层并修复受损墙面和楼下邻居的天花板，费用由我司承担。",
            "找到渗漏点后局部返工防水并做闭水试验，受损装修按原样恢复。",
        ],
        "en_solutions": [
            "Our repair team will trace the leak, redo the waterproofing and repair the damaged walls and the neighbour's ceiling at our cost.",
            "Once the leak is found we redo the waterproofing locally, run a flood test and restore the damaged finishes.",
        ],
        "zh_root_causes": [
            "防水层施工不规范",
            "外墙保温层与窗框交接处密封失效",
            "管道接口密封失效",
        ],
        "en_root_causes": [
            "Waterproofing membrane badly laid",
            "Sealant failure where the insulation meets the window frame",
            "Leaking pipe joint",
        ],
    },
    "construction-cracks": {
        "zh_solutions": [
            "委托第三方检测机构出具安全鉴定报告，按鉴定意见修补裂缝、返工空鼓部位并重新粉刷。",
            "经检测不影响结构安全，按规范修补，并将该部位保修期延长两年。",
        ],
        "en_solutions": [
            "An independent inspector will issue a report; cracks and hollow areas will be repaired as it recommends and repainted.",
            "Inspection shows no structural risk; we repair to standard and extend the warranty on the area by two years.",
        ],
        "zh_root_causes": ["材料养护时间不足", "找平层施工质量差"],
        "en_root_causes": ["Insufficient curing time", "Poor screed work"],
    },
    "construction-finish": {
        "zh_solutions": [
            "逐项整改验房问题清单，整改完成后由客户复验签字。",
            "重新调校门窗五金并更换变形门框，墙面重新找平刷漆。",
        ],
        "en_solutions": [
            "We will fix every item on the inspection list and the customer will sign off the re-inspection.",
            "Doors and windows readjusted, the warped frame replaced, walls re-levelled and repainted.",
        ],
        "zh_root_causes": ["总包单位工序交接不当", "精装修分包质量管控不到位"],
        "en_root_causes": [
            "Poor hand-over between subcontractor trades",
            "Weak quality control of the fit-out subcontractor",
        ],
    },
    "sales": {
        "zh_solutions": [
            "核查销售录音后确认承诺属实，按承诺内容补签协议。",
            "承诺内容不在合同范围内，向客户书面解释并赠送两年物业费作为补偿。",
        ],
        "en_solutions": [
            "The sales call recording confirms the promise; we will sign a supplementary agreement honouring it.",
            "The promise is outside the contract; we explained this in writing and offered two years' service charge as a goodwill gesture.",
        ],
        "zh_root_causes": ["置业顾问超范围承诺", "销售资料更新不及时"],
        "en_root_causes": ["Sales adviser promised beyond policy", "Sales material out of date"],
    },
    "service-cs": {
        "zh_solutions": [
            "向客户致歉，指定专人跟进，并对相关坐席进行服务培训。",
            "高峰时段增加坐席并开通回拨功能，专人当天回电客户。",
        ],
        "en_solutions": [
            "We apologised, assigned a named person and retrained the agents concerned.",
            "More agents at peak times and a call-back option; a named person called the customer the same day.",
        ],
        "zh_root_causes": ["人手不足", "排班不合理"],
        "en_root_causes": ["Understaffing", "Poor rostering"],
    },
    "service-property": {
        "zh_solutions": [
            "物业经理当天到现场处理，增加巡查频次，并每周向客户反馈。",
            "相关工单升级为加急，24小时内处理完毕，并减免当月物业费。",
        ],
        "en_solutions": [
            "The estate manager dealt with it on site the same day, inspects more often and reports back weekly.",
            "The work order was escalated to urgent, done within 24 hours, and this month's service charge waived.",
        ],
        "zh_root_causes": ["外包单位管理不到位", "工单系统派单规则错误", "设备老化，维保不到位"],
        "en_root_causes": [
            "Poor supervision of the contractor",
            "Wrong dispatch rule in the work-order system",
            "Ageing equipment, poor maintenance",
        ],
    },
    "delivery-late": {
        "zh_solutions": [
            "优先安排次日专车配送，并赠送¥{voucher}优惠券致歉。",
            "无法按期到货，为客户办理无责取消并全额退款。",
        ],
        "en_solutions": [
            "Priority delivery by dedicated van the next day and a ¥{voucher} voucher by way of apology.",
            "The goods cannot arrive in time; the order is cancelled free of charge and fully refunded.",
        ],
        "zh_root_causes": ["仓库库存数据不准确", "第三方物流分拣失误", "配送预约系统故障"],
        "en_root_causes": [
            "Inaccurate warehouse stock data",
            "Sorting error at the third-party carrier",
            "Fault in the delivery booking system",
        ],
    },
    "delivery-damaged": {
        "zh_solutions": [
            "为客户换发新的{product}并上门回收破损商品。",
            "给予¥{voucher}补偿并承担修复费用，对相关配送和安装人员进行处理。",
        ],
        "en_solutions": [
            "A new {product} delivered and the damaged one collected.",
            "¥{voucher} compensation and the repair paid for; the delivery and installation crew have been disciplined.",
        ],
        "zh_root_causes": ["包装不符合运输标准", "第三方物流野蛮装卸", "安装人员未按规范作业"],
        "en_root_causes": [
            "Packaging not fit for transport",
            "Rough handling by the carrier",
            "Installers did not follow procedure",
        ],
    },
    "delivery-handover": {
        "zh_solutions": [
            "按合同约定计算逾期交付违约金，随交房一并结算。",
            "增加交付现场验房人员，并为客户单独预约验房时间。",
        ],
        "en_solutions": [
            "The late-handover penalty is calculated as the contract provides and settled at handover.",
            "More inspectors on handover days and a separate inspection appointment for the customer.",
        ],
        "zh_root_causes": ["施工进度延误", "交付组织准备不足"],
        "en_root_causes": ["Construction behind schedule", "Handover day badly organised"],
    },
    "billing-wrong": {
        "zh_solutions": [
            "核实后原路退回多收的¥{amount}，预计3个工作日到账，并修正计费规则。",
            "向客户书面说明收费依据，多收的¥{amount}已全额退还。",
        ],
        "en_solutions": [
            "Confirmed the overcharge; ¥{amount} goes back to the original card within 3 working days and the charging rule is fixed.",
            "We explained the charges in writing and refunded the ¥{amount} charged in error.",
        ],
        "zh_root_causes": ["支付网关超时后重复提交", "计费规则配置错误"],
        "en_root_causes": [
            "Payment gateway timeout caused a double submission",
            "Misconfigured charging rule",
        ],
    },
    "billing-refund": {
        "zh_solutions": [
            "加急审批，退款¥{amount}已原路退回。",
            "退款已加急处理，并补发¥{voucher}优惠券致歉。",
        ],
        "en_solutions": [
            "Approval expedited; the ¥{amount} refund has been returned to the original card.",
            "Refund expedited, with a ¥{voucher} voucher by way of apology.",
        ],
        "zh_root_causes": ["退款审批积压", "退款规则说明不清"],
        "en_root_causes": ["Refund approval backlog", "Refund rules badly explained"],
    },
    "product": {
        "zh_solutions": [
            "为客户免费换新，旧机寄回质量部分析。",
            "上门检测后更换故障部件，保修期延长一年。",
            "全额退款并承担运费，同批次产品已安排抽检。",
        ],
        "en_solutions": [
            "A free replacement; the faulty unit goes back to Quality for analysis.",
            "A technician replaced the faulty part on site and the warranty is extended by a year.",
            "A full refund including shipping; the batch has been sampled for testing.",
        ],
        "zh_root_causes": ["来料批次不良", "装配工艺缺陷", "客户使用不当", "设计缺陷，已启动整改"],
        "en_root_causes": [
            "Bad component batch",
            "Assembly defect",
            "Misuse by the customer",
            "Design flaw, corrective action opened",
        ],
    },
    "staff": {
        "zh_solutions": ["部门负责人当面向客户道歉，当事员工已停岗培训，后续由主管专人跟进。"],
        "en_solutions": [
            "The head of department apologised in person; the employee is suspended pending retraining and a supervisor handles the case."
        ],
        "zh_root_causes": ["员工服务意识不足", "高峰期工作压力大"],
        "en_root_causes": ["Poor service attitude", "Pressure during peak hours"],
    },
    "communication": {
        "zh_solutions": ["指定客服专员作为唯一对接人，每周两次主动告知进度。"],
        "en_solutions": [
            "A named case manager is the single point of contact and updates the customer twice a week."
        ],
        "zh_root_causes": ["跨部门职责不清", "回电任务未进入系统"],
        "en_root_causes": [
            "Unclear responsibilities between departments",
            "Call-back task never entered in the system",
        ],
    },
    "other": {
        "zh_solutions": ["向客户解释活动规则并恢复相关权益。"],
        "en_solutions": ["We explained the rules and restored the customer's benefits."],
        "zh_root_causes": ["规则表述不清"],
        "en_root_causes": ["Ambiguous wording of the rules"],
    },
}
# Staff texts and small phrases, per language.
TEXT = {
    "zh": {
        "followups": [
            "我已经打过{n}次客服电话，每次都说会有人联系我，但一直没有下文。",
            "这件事已经拖了{days}天，严重影响了我们的正常生活。",
            "家里有老人和小孩，请尽快重视。",
            "之前反映过一次，当时答应一周内处理，结果到现在也没人管。",
            "照片和聊天记录已经发到客服邮箱，请核实。",
            "如果再不解决，我会向消费者协会投诉。",
            "",
            "",
        ],
        "resolutions": [
            "已按方案处理完毕，回访时客户确认满意。",
            "处理完成，客户在确认单上签字。",
            "客户接受处理结果，但对处理时长表示不满。",
            "已完成整改并复查，客户同意结案。",
        ],
        "notes": [
            "已联系相关部门确认，排期到下周。",
            "客户情绪较激动，建议由主管回电。",
            "查询系统记录，与客户描述一致。",
            "近期有多起类似投诉，注意是否为共性问题。",
            "供应商已回复，预计三天内给出检测结论。",
            "已申请补偿审批，等待财务确认。",
        ],
        "first_contacts": [
            "致电客户致歉，说明已受理并告知处理时限。",
            "短信加电话告知客户已受理，留下专人联系方式。",
        ],
        "solution_contacts": [
            "向客户说明处理方案，客户表示同意。",
            "与客户沟通方案细节，客户要求书面确认。",
        ],
        "chase_contacts": ["客户来电询问进度，情绪较为激动。", "客户再次来电催促处理。"],
        "info_contacts": ["客户补充提供了照片和购买凭证。", "客户回复了所需资料。"],
        "await": ["等待客户提供购买凭证和照片", "等待客户确认上门时间", "等待客户提供银行流水"],
        "reject": ["客户认为补偿金额过低", "客户不接受维修，坚持换新", "客户要求书面道歉"],
        "reopen": ["维修后问题再次出现", "承诺的补偿没有到账", "客户回访时表示问题并未解决"],
        "invalid": [
            "咨询类来电，不属于投诉",
            "客户所述订单不存在，多次联系无果",
            "推销广告信息",
            "不属于我司业务范围",
        ],
        "merge": ["与之前的投诉为同一事项，合并处理。", "客户通过其他渠道重复反映，合并到原投诉。"],
        "repeat": "再次反映：",
        "no_item": "订单",
    },
    "en": {
        "followups": [
            "I have called customer service {n} times and was told each time that someone would contact me.",
            "This has been dragging on for {days} days and is seriously disrupting our lives.",
            "We have elderly parents and young children at home, so please treat this as urgent.",
            "I reported this once before and was promised action within a week. Nothing happened.",
            "I have emailed photos and the chat history to customer service.",
            "If this is not resolved I will take it to the consumer association.",
            "",
            "",
        ],
        "resolutions": [
            "Done as proposed; the customer confirmed satisfaction on the follow-up call.",
            "Completed; the customer signed the confirmation form.",
            "The customer accepted the outcome but was unhappy with how long it took.",
            "Rework completed and re-inspected; the customer agreed to close.",
        ],
        "notes": [
            "Checked with the department: scheduled for next week.",
            "Customer is very upset; a supervisor should call back.",
            "System records match what the customer says.",
            "Several similar complaints recently: possibly a common cause.",
            "Supplier replied; test results expected within three days.",
            "Compensation requested; waiting for finance approval.",
        ],
        "first_contacts": [
            "Called the customer, apologised, confirmed the complaint is registered and explained the timeline.",
            "Texted and called the customer to confirm receipt and give a named contact.",
        ],
        "solution_contacts": [
            "Explained the proposed solution; the customer agreed.",
            "Went through the solution with the customer, who wants it confirmed in writing.",
        ],
        "chase_contacts": [
            "Customer called to ask about progress, quite upset.",
            "Customer chased again.",
        ],
        "info_contacts": [
            "Customer sent photos and proof of purchase.",
            "Customer replied with the information we asked for.",
        ],
        "await": [
            "Waiting for proof of purchase and photos",
            "Waiting for the customer to confirm a visit time",
            "Waiting for the customer's bank statement",
        ],
        "reject": [
            "Customer thinks the compensation is too low",
            "Customer refuses a repair and insists on a replacement",
            "Customer wants a written apology",
        ],
        "reopen": [
            "The problem came back after the repair",
            "The promised compensation never arrived",
            "On the follow-up call the customer said it is not fixed",
        ],
        "invalid": [
            "An enquiry, not a complaint",
            "The order does not exist and the customer cannot be reached",
            "Advertising spam",
            "Not our product or service",
        ],
        "merge": [
            "Same matter as the earlier complaint; merged.",
            "The customer raised it again through another channel; merged into the original.",
        ],
        "repeat": "Again: ",
        "no_item": "my order",
    },
}

# Distributions (value: relative weight).
CHANNEL_WEIGHTS = {
    "hotline": 35,
    "web": 15,
    "email": 12,
    "chat": 15,
    "social": 6,
    "letter": 2,
    "walk_in": 8,
    "api": 7,
}
SEVERITY_WEIGHTS = {4: 80, 3: 13, 2: 6, 1: 1}
FAULT_WEIGHTS = {
    "ours": 55,
    "customer": 12,
    "third_party": 15,
    "force_majeure": 3,
    "undetermined": 15,
}
TIER_WEIGHTS = {"standard": 68, "member": 22, "vip": 7, "corporate": 3}
# Local hour of day 0..23 at which complaints are received.
HOUR_WEIGHTS = dict(
    enumerate([1, 1, 1, 1, 1, 1, 2, 4, 8, 12, 13, 12, 9, 10, 12, 11, 10, 9, 8, 8, 7, 6, 3, 2])
)

# Names. Chinese: "character:pinyin" pairs.
ZH_SURNAMES = [
    p.split(":")
    for p in (
        "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu 孙:sun "
        "马:ma 朱:zhu 胡:hu 郭:guo 何:he 高:gao 林:lin 罗:luo 郑:zheng 梁:liang 谢:xie 宋:song "
        "唐:tang 韩:han 冯:feng 邓:deng 曹:cao 彭:peng 曾:zeng 肖:xiao 田:tian 董:dong 袁:yuan "
        "潘:pan 蒋:jiang 蔡:cai 杜:du 叶:ye 程:cheng 苏:su 魏:wei 丁:ding 任:ren 沈:shen 姚:yao "
        "卢:lu 崔:cui 钟:zhong 谭:tan 陆:lu 范:fan 金:jin 石:shi 廖:liao 贾:jia 夏:xia 方:fang "
        "白:bai 邹:zou 孟:meng 熊:xiong 秦:qin 邱:qiu 江:jiang 尹:yin 薛:xue 段:duan 雷:lei 侯:hou "
        "龙:long 陶:tao 贺:he 顾:gu 毛:mao 郝:hao 龚:gong 邵:shao 钱:qian 严:yan 戴:dai 孔:kong "
        "欧阳:ouyang 司马:sima 上官:shangguan"
    ).split()
]
ZH_GIVEN = [
    p.split(":")
    for p in (
        "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan "
        "杰:jie 娟:juan 涛:tao 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang 英:ying 华:hua 玉:yu "
        "萍:ping 红:hong 建:jian 文:wen 辉:hui 梅:mei 鹏:peng 宇:yu 浩:hao 婷:ting 欣:xin 雪:xue "
        "琳:lin 晨:chen 阳:yang 佳:jia 嘉:jia 俊:jun 子:zi 涵:han 轩:xuan 怡:yi 睿:rui 博:bo 思:si "
        "雨:yu 慧:hui 颖:ying 志:zhi 国:guo 海:hai 云:yun 峰:feng 凯:kai 晓:xiao 振:zhen 瑶:yao "
        "欢:huan 倩:qian 诗:shi 梓:zi 昊:hao 宁:ning 彤:tong 鑫:xin 斌:bin 宏:hong 毅:yi 丹:dan "
        "蕾:lei 楠:nan 悦:yue 亮:liang 东:dong 春:chun 秋:qiu 桂:gui 兰:lan 德:de 永:yong 安:an"
    ).split()
]
EN_FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony "
    "Sandra Mark Ashley Paul Emily Steven Michelle Andrew Amanda Kevin Melissa Brian Rebecca "
    "George Laura Oliver Sophie Lucas Chloe Henry Hannah Peter Anna Jack Grace Tom Emma Ben "
    "Olivia Samuel Julia Marco Elena Pierre Claire Hans Ingrid Raj Priya Kenji Yuki Minh Linh"
).split()
EN_LAST = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
    "Martin Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright "
    "Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner "
    "Parker Collins Edwards Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed "
    "Bailey Kelly Howard Ward Cox Richardson Wood Watson Brooks Bennett Gray Hughes Price "
    "Müller Schmidt Dubois Rossi Tanaka Nguyen Patel Kim Lee Wong Chan Singh O'Brien"
).split()
ZH_COMPANY_PLACES = ["上海", "北京", "深圳", "杭州", "苏州", "南京", "成都", "武汉", "广州", "宁波"]
ZH_COMPANY_WORDS = [
    "华信",
    "恒达",
    "瑞丰",
    "鼎盛",
    "宏远",
    "金桥",
    "新宇",
    "嘉禾",
    "天成",
    "博源",
    "远航",
    "安泰",
]
ZH_COMPANY_KINDS = [
    "贸易有限公司",
    "科技有限公司",
    "物业服务有限公司",
    "餐饮管理有限公司",
    "酒店管理有限公司",
]
EN_COMPANY_WORDS = [
    "Harbour",
    "Summit",
    "Bluewater",
    "Northstar",
    "Evergreen",
    "Pacific",
    "Silk Road",
    "Golden Gate",
]
EN_COMPANY_KINDS = [
    "Trading Co., Ltd.",
    "Hospitality Ltd.",
    "Consulting (Shanghai) Co., Ltd.",
    "Foods Ltd.",
]

# Valid mainland mobile prefixes (China Mobile, Unicom, Telecom).
MOBILE_PREFIXES = (
    "134 135 136 137 138 139 150 151 152 157 158 159 182 183 187 188 198 "
    "130 131 132 155 156 185 186 166 175 176 133 153 180 181 189 177 173 199 191"
).split()
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]

ZH_COMPANY = (ZH_COMPANY_PLACES, ZH_COMPANY_WORDS, ZH_COMPANY_KINDS)
EN_COMPANY = (EN_COMPANY_WORDS, [" "], EN_COMPANY_KINDS)

CUSTOMER_NOTES_ABUSIVE = [
    "多次在电话中辱骂客服，仅限书面沟通。",
    "Threatened staff on site; two staff members at every visit.",
]
CUSTOMER_NOTES_DIFFICULT = [
    "对合同条款理解有偏差，每一步都需书面确认。",
    "Expects compensation beyond policy; agree every step in writing.",
]
CUSTOMER_NOTES = {"abusive": CUSTOMER_NOTES_ABUSIVE, "difficult": CUSTOMER_NOTES_DIFFICULT}
